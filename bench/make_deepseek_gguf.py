#!/usr/bin/env python3
"""Write a GGUF with RANDOM weights in DeepSeek-V3's exact layout (MLA + MoE), for benchmarks.

../shared/peers/make_random_gguf.py makes Qwen3 and Qwen3-MoE shapes only; this is its DeepSeek
counterpart. The tensors and keys are those llama.cpp's convert_hf_to_gguf.py writes for
DeepseekV3ForCausalLM (architecture `deepseek2`, the one DeepSeek-V2/V3/R1 and Kimi K2 share):
low-rank queries (attn_q_a -> attn_q_a_norm -> attn_q_b), the compressed KV latent with its RoPE
part (attn_kv_a_mqa, attn_kv_a_norm) and the per-head absorbed up-projections (attn_k_b, attn_v_b),
leading dense layers, then routed experts with sigmoid gating, a score-correction bias
(exp_probs_b), grouped top-k and one shared expert. The defaults keep DeepSeek-V3's head geometry
(q/k nope 128, rope 64, v 128, kv_lora_rank 512, vocab 129280, YaRN x40) and scale the rest to the
size of the Qwen3-MoE benchmark shape (8 layers, hidden 1024, 64 experts x 768, top-8), so that a
2-core machine runs it in seconds. Speed does not depend on weight values.

The tokenizer is make_random_gguf.py's synthetic byte-level BPE of the right size (imported from
../shared/peers, or --peers DIR): it only exists so that loaders accept the file.

Usage (needs numpy and gguf from PyPI):
  python3 bench/make_deepseek_gguf.py --out deepseek-v3-shape-bf16.gguf
  llama-quantize deepseek-v3-shape-bf16.gguf deepseek-v3-shape-q8_0.gguf Q8_0
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

try:
    import gguf
except ImportError:  # pragma: no cover
    sys.exit("error: cannot import 'gguf'; install it with: pip install gguf numpy")


def plan_tensors(a, tname):
    """(name, numpy shape, kind): kind 'w' is stored in --dtype, 'norm' is F32 ones, 'w32' F32 random,
    'zero' F32 zeros. numpy shapes are ggml's ne[] reversed. tname: make_random_gguf's name helper."""
    T = gguf.MODEL_TENSOR
    qk = a.qk_nope + a.qk_rope
    out = [(tname(T.TOKEN_EMBD), (a.vocab, a.hidden), "w")]
    for i in range(a.layers):
        out += [
            (tname(T.ATTN_NORM, i), (a.hidden,), "norm"),
            (tname(T.ATTN_Q_A, i), (a.q_lora, a.hidden), "w"),
            (tname(T.ATTN_Q_A_NORM, i), (a.q_lora,), "norm"),
            (tname(T.ATTN_Q_B, i), (a.n_head * qk, a.q_lora), "w"),
            (tname(T.ATTN_KV_A_MQA, i), (a.kv_lora + a.qk_rope, a.hidden), "w"),
            (tname(T.ATTN_KV_A_NORM, i), (a.kv_lora,), "norm"),
            (tname(T.ATTN_K_B, i), (a.n_head, a.kv_lora, a.qk_nope), "w"),
            (tname(T.ATTN_V_B, i), (a.n_head, a.v_head, a.kv_lora), "w"),
            (tname(T.ATTN_OUT, i), (a.hidden, a.n_head * a.v_head), "w"),
            (tname(T.FFN_NORM, i), (a.hidden,), "norm"),
        ]
        if i < a.dense_layers:
            out += [
                (tname(T.FFN_GATE, i), (a.ffn, a.hidden), "w"),
                (tname(T.FFN_UP, i), (a.ffn, a.hidden), "w"),
                (tname(T.FFN_DOWN, i), (a.hidden, a.ffn), "w"),
            ]
        else:
            shared = a.expert_ffn * a.shared_experts
            out += [
                (tname(T.FFN_GATE_INP, i), (a.experts, a.hidden), "w32"),  # the router stays F32
                (tname(T.FFN_EXP_PROBS_B, i, "bias"), (a.experts,), "zero"),
                (tname(T.FFN_GATE_EXP, i), (a.experts, a.expert_ffn, a.hidden), "w"),
                (tname(T.FFN_UP_EXP, i), (a.experts, a.expert_ffn, a.hidden), "w"),
                (tname(T.FFN_DOWN_EXP, i), (a.experts, a.hidden, a.expert_ffn), "w"),
                (tname(T.FFN_GATE_SHEXP, i), (shared, a.hidden), "w"),
                (tname(T.FFN_UP_SHEXP, i), (shared, a.hidden), "w"),
                (tname(T.FFN_DOWN_SHEXP, i), (a.hidden, shared), "w"),
            ]
    out += [(tname(T.OUTPUT_NORM), (a.hidden,), "norm"), (tname(T.OUTPUT), (a.vocab, a.hidden), "w")]
    return out


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--dtype", choices=["f16", "bf16"], default="bf16")
    p.add_argument("--peers", default=os.path.join(here, "..", "..", "shared", "peers"),
                   help="folder holding make_random_gguf.py (for its synthetic tokenizer)")
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--dense-layers", type=int, default=1, help="leading dense blocks (V3: 3 of 61)")
    p.add_argument("--hidden", type=int, default=1024)
    p.add_argument("--ffn", type=int, default=3072, help="dense FFN width")
    p.add_argument("--n-head", type=int, default=16)
    p.add_argument("--q-lora", type=int, default=768)
    p.add_argument("--kv-lora", type=int, default=512)
    p.add_argument("--qk-nope", type=int, default=128)
    p.add_argument("--qk-rope", type=int, default=64)
    p.add_argument("--v-head", type=int, default=128)
    p.add_argument("--experts", type=int, default=64)
    p.add_argument("--experts-used", type=int, default=8)
    p.add_argument("--expert-groups", type=int, default=8)
    p.add_argument("--expert-groups-used", type=int, default=4)
    p.add_argument("--shared-experts", type=int, default=1)
    p.add_argument("--expert-ffn", type=int, default=768)
    p.add_argument("--vocab", type=int, default=129280)
    p.add_argument("--ctx", type=int, default=163840)
    p.add_argument("--std", type=float, default=0.02)
    p.add_argument("--seed", type=int, default=1234)
    a = p.parse_args()

    sys.path.insert(0, a.peers)
    try:
        from make_random_gguf import synthetic_bpe_vocab, tname, to_bf16_bits  # noqa: E402
    except ImportError:
        sys.exit(f"error: cannot import make_random_gguf from {a.peers}; pass --peers DIR")

    t0 = time.time()
    w = gguf.GGUFWriter(a.out, "deepseek2")
    w.add_name(f"random-deepseek-v3-shape-{a.layers}L-{a.hidden}h")
    w.add_type("model")
    w.add_context_length(a.ctx)
    w.add_embedding_length(a.hidden)
    w.add_block_count(a.layers)
    w.add_feed_forward_length(a.ffn)
    w.add_head_count(a.n_head)
    w.add_head_count_kv(1)  # MLA: one latent K/V "head" shared by all heads
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_vocab_size(a.vocab)
    w.add_q_lora_rank(a.q_lora)
    w.add_kv_lora_rank(a.kv_lora)
    w.add_key_length(a.kv_lora + a.qk_rope)  # the absorbed form llama.cpp runs
    w.add_value_length(a.kv_lora)
    w.add_key_length_mla(a.qk_nope + a.qk_rope)
    w.add_value_length_mla(a.v_head)
    w.add_rope_dimension_count(a.qk_rope)
    w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
    w.add_rope_scaling_factor(40.0)
    w.add_rope_scaling_orig_ctx_len(4096)
    w.add_rope_scaling_yarn_beta_fast(32.0)
    w.add_rope_scaling_yarn_beta_slow(1.0)
    w.add_rope_scaling_yarn_log_mul(0.1)
    w.add_leading_dense_block_count(a.dense_layers)
    w.add_expert_count(a.experts)
    w.add_expert_used_count(a.experts_used)
    w.add_expert_group_count(a.expert_groups)
    w.add_expert_group_used_count(a.expert_groups_used)
    w.add_expert_shared_count(a.shared_experts)
    w.add_expert_feed_forward_length(a.expert_ffn)
    w.add_expert_weights_scale(2.5)
    w.add_expert_weights_norm(True)
    w.add_expert_gating_func(gguf.ExpertGatingFuncType.SIGMOID)
    ftype = gguf.LlamaFileType.MOSTLY_BF16 if a.dtype == "bf16" else gguf.LlamaFileType.MOSTLY_F16
    w.add_file_type(int(ftype))
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    tokens, types, merges, sp = synthetic_bpe_vocab(a.vocab, a.vocab - 64)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("deepseek-v3")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    eot = sp.get("<|endoftext|>", 0)
    w.add_bos_token_id(eot)
    w.add_eos_token_id(eot)
    w.add_add_bos_token(True)

    plan = plan_tensors(a, tname)
    wdt, raw = (np.dtype(np.uint16), gguf.GGMLQuantizationType.BF16) if a.dtype == "bf16" else (np.dtype(np.float16), None)
    n_params = 0
    for nm, shape, kind in plan:
        count = int(np.prod(shape))
        n_params += count
        if kind == "w":
            w.add_tensor_info(nm, shape, wdt, count * wdt.itemsize, raw_dtype=raw)
        else:
            w.add_tensor_info(nm, shape, np.dtype(np.float32), count * 4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()

    rng = np.random.default_rng(a.seed)
    for nm, shape, kind in plan:
        if kind == "norm":
            arr = np.ones(shape, dtype=np.float32)
        elif kind == "zero":
            arr = np.zeros(shape, dtype=np.float32)
        else:
            arr = rng.standard_normal(shape, dtype=np.float32) * np.float32(a.std)
            if kind == "w":
                arr = to_bf16_bits(arr) if a.dtype == "bf16" else arr.astype(np.float16)
        w.write_tensor_data(arr)
        del arr
    w.close()
    print(f"wrote {a.out}: deepseek2 layers={a.layers} (dense {a.dense_layers}) hidden={a.hidden} heads={a.n_head} "
          f"experts={a.experts}x{a.expert_ffn} top-{a.experts_used} shared={a.shared_experts} vocab={a.vocab} "
          f"tensors={len(plan)} params={n_params / 1e6:.1f}M in {time.time() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
