#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets from ../shared/fixtures (scripts/fuzz.sh runs it).

usage: make_seeds.py FIXTURES_DIR OUT_DIR  ->  OUT_DIR/<target>/<seed files>

Seeds are kept small so mutations land where parsing happens: GGUF files are cut to their first
16 KiB (metadata + tensor table; fuzz_gguf zero-fills the tensor data), safetensors files to their
header, tokenizer.json files shrunk to their first 600 vocabulary entries and the merges among them.
"""
import glob
import json
import os
import struct
import sys

GGUF_HEAD = 16 << 10  # every fixture's metadata + tensor table fits (largest: 15.9 KiB)
GGUF_PAD = 4 << 20     # fuzz_gguf's zero-padded image: only models whose data fits are useful seeds
SHRUNK_VOCAB = 600
MAX_ADDED = 24


def write(out, target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def gguf_seeds(fx, out):
    paths = sorted(glob.glob(f"{fx}/arch/*/*.gguf")) + [f"{fx}/stories260K/stories260K.gguf"]
    for p in paths:
        if os.path.getsize(p) > GGUF_PAD:
            continue
        with open(p, "rb") as f:
            head = f.read(GGUF_HEAD)
        name = os.path.basename(os.path.dirname(p)) + "-" + os.path.basename(p)
        write(out, "fuzz_gguf", name, head)


def safetensors_seeds(fx, out):
    for p in sorted(glob.glob(f"{fx}/arch/*/hf/*.safetensors")) + sorted(glob.glob(f"{fx}/stories260K/hf/*.safetensors")):
        with open(p, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = f.read(n)
        write(out, "fuzz_safetensors", p.split("/")[-3] + ".safetensors", struct.pack("<Q", n) + header)
    # A complete tiny file: two tensors, data included.
    header = json.dumps({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                         "b": {"dtype": "BF16", "shape": [1, 2], "data_offsets": [8, 12]},
                         "__metadata__": {"format": "pt"}}).encode()
    write(out, "fuzz_safetensors", "tiny.safetensors", struct.pack("<Q", len(header)) + header + bytes(12))


def hf_config_seeds(fx, out):
    for cfg in sorted(glob.glob(f"{fx}/arch/*/hf/config.json")) + [f"{fx}/stories260K/hf/config.json"]:
        folder = os.path.dirname(cfg)
        data = read(cfg)
        gen = os.path.join(folder, "generation_config.json")
        if os.path.exists(gen):
            data += b"\0" + read(gen)
        write(out, "fuzz_hf_config", cfg.split("/")[-3] + ".json", data)


def shrink_tokenizer_json(tok):
    model = tok["model"]
    vocab = {t: i for t, i in model["vocab"].items() if i < SHRUNK_VOCAB}
    merges = []
    for m in model["merges"]:
        a, b = m if isinstance(m, list) else m.split(" ", 1)
        if a in vocab and b in vocab and a + b in vocab:
            merges.append(m)
    model["vocab"] = vocab
    model["merges"] = merges
    # Added tokens get ids right after the shrunk vocabulary; references to them follow.
    # Llama 3 and DeepSeek list hundreds of reserved added tokens: the first few show every shape.
    tok["added_tokens"] = (tok.get("added_tokens") or [])[:MAX_ADDED]
    remap = {}
    for k, t in enumerate(tok["added_tokens"]):
        remap[t["id"]] = SHRUNK_VOCAB + k
        t["id"] = SHRUNK_VOCAB + k
    def fix(node):
        if isinstance(node, dict):
            for key, v in node.items():
                if key == "ids" and isinstance(v, list):
                    node[key] = [remap.get(x, x) for x in v]
                else:
                    fix(v)
        elif isinstance(node, list):
            for v in node:
                fix(v)
    fix(tok.get("post_processor"))
    return tok


def tokenizer_json_seeds(fx, out):
    for p in sorted(glob.glob(f"{fx}/tokenizers/*/tokenizer.json")):
        folder = os.path.dirname(p)
        tok = shrink_tokenizer_json(json.loads(read(p)))
        data = json.dumps(tok, ensure_ascii=False).encode()
        config = os.path.join(folder, "tokenizer_config.json")
        if os.path.exists(config):
            cfg = json.loads(read(config))
            cfg.pop("chat_template", None)  # fuzz_jinja has the templates
            if isinstance(cfg.get("added_tokens_decoder"), dict):
                kept = list(cfg["added_tokens_decoder"].values())[:MAX_ADDED]
                cfg["added_tokens_decoder"] = {str(SHRUNK_VOCAB + k): v for k, v in enumerate(kept)}
            data += b"\0" + json.dumps(cfg, ensure_ascii=False).encode()
        write(out, "fuzz_tokenizer_json", os.path.basename(folder) + ".json", data)


def tokenize_seeds(fx, out):
    texts = []
    for p in sorted(glob.glob(f"{fx}/tokenizers/*/golden_encode.jsonl")) + [f"{fx}/stories260K/tok512_encode.jsonl"]:
        if not os.path.exists(p):
            continue
        with open(p, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= 12:
                    break
                texts.append(json.loads(line)["text"])
    texts += ["<|im_start|>user\nHi<|im_end|>\n", "<s> a</s>\n\n  x", "\xff\xfe broken", "Once upon a time"]
    for i, text in enumerate(texts):
        raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        write(out, "fuzz_tokenize", f"text{i:03d}", bytes([i % 16]) + raw[:2048])


def jinja_seeds(fx, out):
    for p in sorted(glob.glob(f"{fx}/tokenizers/*/chat_templates/*.jinja")):
        write(out, "fuzz_jinja", p.split("/")[-3] + "-" + os.path.basename(p), read(p))


def request_seeds(repo, out):
    for p in sorted(glob.glob(f"{repo}/fuzz/seeds/requests/*.json")):
        write(out, "fuzz_request", os.path.basename(p), read(p))


def main():
    fx, out = sys.argv[1], sys.argv[2]
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    gguf_seeds(fx, out)
    safetensors_seeds(fx, out)
    hf_config_seeds(fx, out)
    tokenizer_json_seeds(fx, out)
    tokenize_seeds(fx, out)
    jinja_seeds(fx, out)
    request_seeds(repo, out)


if __name__ == "__main__":
    main()
