"""Writes hf_golden.json: what the reference Python libraries read from the arch/*/hf fixtures.

For every tensor of every arch/<name>/hf/model.safetensors (read with the `safetensors` library,
BF16 decoded by `ml_dtypes`): dtype, shape, a float64 sum of all values and the values at four
flat indices. For every arch/<name>/model-q8_0.gguf (read with llama.cpp's `gguf` package): its
tensor names, i.e. the names llama.cpp's convert_hf_to_gguf.py gave the same weights.

Usage: python make_hf_golden.py /work/shared/fixtures/arch > hf_golden.json
"""
import json
import os
import sys

import gguf
import ml_dtypes  # noqa: F401  (registers bfloat16 with numpy)
import numpy as np
from safetensors.numpy import load_file

ARCHS = ["qwen3", "qwen2", "llama3", "seed_oss", "qwen3moe", "deepseek_v3", "glm4_moe",
         "ernie4_5_moe", "hunyuan_moe", "minimax_m2"]


def describe(array):
    flat = array.astype(np.float64).reshape(-1)
    n = flat.size
    picks = sorted({0, n // 3, (2 * n) // 3, n - 1}) if n else []
    return {
        "dtype": {"bfloat16": "BF16", "float32": "F32", "float16": "F16"}[str(array.dtype)],
        "shape": list(array.shape),
        "sum": float(flat.sum()),
        "samples": [[i, float(flat[i])] for i in picks],
    }


def main(arch_dir):
    out = {}
    for arch in ARCHS:
        tensors = load_file(os.path.join(arch_dir, arch, "hf", "model.safetensors"))
        reader = gguf.GGUFReader(os.path.join(arch_dir, arch, "model-q8_0.gguf"))
        out[arch] = {
            "tensors": {name: describe(tensors[name]) for name in sorted(tensors)},
            "gguf_names": sorted(t.name for t in reader.tensors),
        }
    json.dump(out, sys.stdout, indent=None, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
