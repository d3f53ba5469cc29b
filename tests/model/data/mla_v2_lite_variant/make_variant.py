"""Builds the DeepSeek-V2-Lite-style variant of the arch/deepseek_v3 fixture and its float64 reference
logits (see README.md here). The C++ test (tests/model/mla_variant_test.cpp) builds the same folder at
test time from the same fixture tensors; keep the two in step.

usage: python3 make_variant.py FIXTURES_DIR OUT_DIR
"""
import json
import os
import sys

import numpy as np

FIXTURES = sys.argv[1]
OUT = sys.argv[2]
sys.path.insert(0, os.path.join(FIXTURES, "arch"))
import reference  # noqa: E402

SRC = os.path.join(FIXTURES, "arch", "deepseek_v3", "hf")
N_LAYERS = 2
PROMPTS = [0, 1]  # of prompts.json


def variant_config(cfg):
    cfg = dict(cfg)
    cfg.update({
        "architectures": ["DeepseekV2ForCausalLM"],
        "model_type": "deepseek_v2",
        "num_hidden_layers": N_LAYERS,
        "q_lora_rank": None,          # plain q_proj, as DeepSeek-V2-Lite
        "scoring_func": "softmax",
        "topk_method": "greedy",
        "n_group": 1,
        "topk_group": 1,
        "num_experts_per_tok": 3,
        "norm_topk_prob": False,
        "routed_scaling_factor": 1.5,
        "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 1024,
                         "beta_fast": 32, "beta_slow": 1, "mscale": 1.0, "mscale_all_dim": 0.707},
    })
    return cfg


def variant_name(name):
    """Fixture tensor name -> variant name, or None to drop it."""
    if name.startswith("model.layers."):
        layer = int(name.split(".")[2])
        if layer >= N_LAYERS:
            return None
        if ".q_a_proj." in name or ".q_a_layernorm." in name or name.endswith("e_score_correction_bias"):
            return None
        return name.replace(".q_b_proj.", ".q_proj.")
    return name


def main():
    with open(os.path.join(SRC, "config.json")) as f:
        cfg = variant_config(json.load(f))
    weights = {}
    for name, arr in reference.load_safetensors(os.path.join(SRC, "model.safetensors")).items():
        new = variant_name(name)
        if new is not None:
            weights[new] = arr
    with open(os.path.join(FIXTURES, "arch", "deepseek_v3", "prompts.json")) as f:
        prompts = json.load(f)["prompts"]
    os.makedirs(OUT, exist_ok=True)
    for i in PROMPTS:
        logits = reference.forward(cfg, weights, prompts[i])
        np.save(os.path.join(OUT, f"logits_{i}.npy"), logits.astype(np.float32))
        print(f"prompt {i}: {logits.shape}, argmax last {int(np.argmax(logits[-1]))}, "
              f"max |logit| {float(np.max(np.abs(logits))):.3f}, router min gap {reference.ROUTER.min_gap:.4g}")


if __name__ == "__main__":
    main()
