#!/usr/bin/env python3
"""Writes the golden vectors for tests/kernels/quant_*_test.cpp (see README.md in this folder).

Independent reference: gguf-py (`gguf.quants.quantize` / `dequantize`, numpy transcriptions of ggml's
ggml-quants.c) and real blocks written by llama.cpp's `llama-quantize` in the qwen3 fixture GGUFs.
Run from the repository root:
    /tmp/quant-venv/bin/python tests/kernels/data/make_quant_goldens.py
Every file is little-endian raw data: `*.f32` = float32 values, `*.bin` = quantized blocks as stored
in a GGUF file. `manifest.json` lists the cases and says which files belong to each.
"""
import importlib.metadata
import json
import pathlib

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize, dequantize

OUT = pathlib.Path(__file__).resolve().parent
FIXTURES = OUT.parents[3] / "shared" / "fixtures" / "arch" / "qwen3"


def synthetic_input() -> np.ndarray:
    """1024 values = 4 K-quant super-blocks = 32 legacy blocks, with zeros, outliers, ties, constants."""
    rng = np.random.default_rng(20240601)
    x = rng.standard_normal(1024).astype(np.float32)
    # each 32-block gets its own magnitude (1e-3 .. 10) so the fp16 scales cover a wide range
    x *= np.repeat(10.0 ** rng.uniform(-3, 1, 32), 32).astype(np.float32)
    x[5] = 0.0
    x[100:110] = 0.0
    x[224:256] = 0.0                 # a whole legacy block of zeros (d = 0 path)
    x[300], x[301] = 50.0, -80.0     # outliers inside one sub-block
    x[512:544] = 0.5                 # a constant block (q4_1/q5_1: max == min)
    x[600], x[601] = -7.25, 7.25     # equal |max| with both signs: the first one wins
    x[768:800] = 0.0                 # a K-quant sub-block of zeros
    x[800:832] = np.abs(x[800:832])  # a positive-only sub-block (min clamped to 0)
    return x.astype(np.float32)


def write(name: str, arr: np.ndarray) -> str:
    (OUT / name).write_bytes(np.ascontiguousarray(arr).tobytes())
    return name


def random_blocks(qtype: T, n_blocks: int, seed: int) -> np.ndarray:
    """Random bytes (every bit pattern is a valid block) with fp16 scale fields set to sane values."""
    block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    halves = lambda: rng.uniform(-2.0, 2.0, n_blocks).astype(np.float16).view(np.uint8).reshape(n_blocks, 2)
    if qtype in (T.Q4_0, T.Q5_0, T.Q8_0):
        raw[:, 0:2] = halves()
    elif qtype in (T.Q4_1, T.Q5_1, T.Q4_K, T.Q5_K):
        raw[:, 0:2] = halves()
        raw[:, 2:4] = halves()
    elif qtype == T.Q6_K:
        raw[:, type_size - 2:] = halves()
    return raw


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def main() -> None:
    cases = []
    x = synthetic_input()
    write("synthetic.f32", x)

    # Types gguf-py can both quantize and dequantize: quantize must match its bytes exactly.
    for qtype in (T.F32, T.F16, T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0):
        name = qtype.name.lower()
        q = quantize(x, qtype).view(np.uint8)
        deq = dequantize(q, qtype).astype(np.float32)
        cases.append({"name": f"synthetic_{name}", "type": qtype.name, "n": int(x.size),
                      "input": "synthetic.f32", "quant": write(f"synthetic.{name}.bin", q),
                      "dequant": write(f"synthetic.{name}.deq.f32", deq), "quantize_exact": True})

    # Random blocks: dequantization of arbitrary bit patterns (gguf-py has no K-quant quantizer).
    for i, qtype in enumerate((T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K)):
        name = qtype.name.lower()
        n_blocks = 8 if gguf.GGML_QUANT_SIZES[qtype][0] == 32 else 3
        q = random_blocks(qtype, n_blocks, seed=100 + i)
        deq = dequantize(q, qtype).astype(np.float32)
        cases.append({"name": f"random_{name}", "type": qtype.name, "n": int(deq.size),
                      "quant": write(f"random.{name}.bin", q),
                      "dequant": write(f"random.{name}.deq.f32", deq), "quantize_exact": False})

    # Real blocks written by llama-quantize (no imatrix, so ggml's quantize_row_*_ref) from the same
    # F32 weights: our quantizer must reproduce them from the F32 rows.
    f32 = {t.name: t for t in gguf.GGUFReader(FIXTURES / "model-f32.gguf").tensors}
    real = [("model-q4_k_m.gguf", "blk.0.attn_q.weight", 4),
            ("model-q4_k_m.gguf", "output.weight", 4),
            ("model-q4_k_m.gguf", "blk.1.ffn_down.weight", 2),
            ("model-q8_0.gguf", "blk.0.ffn_down.weight", 2)]
    for file_name, tensor_name, n_rows in real:
        tensors = {t.name: t for t in gguf.GGUFReader(FIXTURES / file_name).tensors}
        t = tensors[tensor_name]
        q = np.asarray(t.data[:n_rows]).view(np.uint8)
        deq = dequantize(q, t.tensor_type).astype(np.float32).ravel()
        src = np.asarray(f32[tensor_name].data[:n_rows], dtype=np.float32).ravel()
        stem = f"{file_name.removeprefix('model-').removesuffix('.gguf')}.{tensor_name.removesuffix('.weight')}"
        cases.append({"name": stem.replace(".", "_").replace("-", "_"), "type": t.tensor_type.name,
                      "n": int(deq.size), "source": f"arch/qwen3/{file_name}:{tensor_name} rows 0..{n_rows - 1}",
                      "input": write(f"{stem}.f32", src), "quant": write(f"{stem}.bin", q),
                      "dequant": write(f"{stem}.deq.f32", deq), "quantize_exact": True})

    # Every quantized tensor of the fixture GGUFs, located by byte offset so the C++ test can read it
    # (and its F32 original) straight from ../shared/fixtures: quantize must give llama-quantize's
    # bytes, dequantize must give gguf-py's floats (compared by FNV-1a 64 of their bytes).
    fixture_tensors = []
    for file_name in ("model-q4_k_m.gguf", "model-q8_0.gguf"):
        for t in gguf.GGUFReader(FIXTURES / file_name).tensors:
            if t.tensor_type == T.F32:
                continue
            src = f32[t.name]
            deq = dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32)
            fixture_tensors.append({"file": f"arch/qwen3/{file_name}", "tensor": t.name, "type": t.tensor_type.name,
                                    "n": int(t.n_elements), "offset": int(t.data_offset), "bytes": int(t.n_bytes),
                                    "f32_file": "arch/qwen3/model-f32.gguf", "f32_offset": int(src.data_offset),
                                    "dequant_fnv1a64": fnv1a64(deq.tobytes())})

    # fp16 / bf16 conversion edge cases: numpy's float16 cast (IEEE round-to-nearest-even) and
    # gguf-py's BF16 (ggml_compute_fp32_to_bf16).
    f16_max, f16_min_sub = 65504.0, 2.0 ** -24
    specials = np.array([0.0, -0.0, 1.0, -1.0, 0.1, 1 / 3, f16_max, 65519.0, 65520.0, 1e6, -1e6,
                         np.inf, -np.inf, 2.0 ** -14, 2.0 ** -14 * (1 - 2.0 ** -11), f16_min_sub,
                         f16_min_sub / 2, f16_min_sub * 0.5000001, f16_min_sub * 1.5, f16_min_sub * 2.5,
                         1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 2049.0, 2051.0, 1e-30, -3.0e38,
                         3.4028235e38, 1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8, 1.00390625 + 2.0 ** -20],
                        dtype=np.float32)
    write("specials.f32", specials)
    with np.errstate(over="ignore"):  # 65520 and 1e6 overflow to inf on purpose
        write("specials.f16.bin", specials.astype(np.float16))
    write("specials.bf16.bin", quantize(specials, T.BF16).view(np.uint8))

    manifest = {"generator": "tests/kernels/data/make_quant_goldens.py", "gguf_py": importlib.metadata.version("gguf"), "numpy": np.__version__, "cases": cases, "fixture_tensors": fixture_tensors,
                "specials": {"input": "specials.f32", "f16": "specials.f16.bin", "bf16": "specials.bf16.bin",
                             "n": int(specials.size)}}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
