#!/usr/bin/env python3
"""Aggregate generation throughput and time to first token of an OpenAI-compatible server with
1, 4 and 8 concurrent streams: kaiyuan serve, and llama-server on the same GGUF when LLAMA_SERVER
points to it. Prints one line per (engine, streams) and the 8-vs-1 scaling.

  .venv/bin/python bench/serve_streams.py --kaiyuan build/release/tools/kaiyuan/kaiyuan \
      --model MODEL.gguf [--tokens 64] [--rounds 2] [--cache-type f16]
"""
import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from openai import OpenAI

PROMPT = "Once upon a time, in a small village by the sea, there lived"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, proc, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except Exception:
            pass
        time.sleep(0.5)
    sys.exit("server did not become healthy")


def one_stream(client, tokens, out):
    start = time.perf_counter()
    first = None
    n = 0
    stream = client.completions.create(model="m", prompt=PROMPT, max_tokens=tokens, temperature=0,
                                       stream=True, stream_options={"include_usage": True})
    for chunk in stream:
        if chunk.choices and chunk.choices[0].text:
            if first is None:
                first = time.perf_counter() - start
        if chunk.usage is not None:
            n = chunk.usage.completion_tokens
    out.append((first if first is not None else float("nan"), n))


def measure(port, streams, tokens, rounds):
    client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", timeout=600)
    one_stream(client, 4, [])  # warm-up
    rates, ttfts = [], []
    cpu0, wall_all = resource.getrusage(resource.RUSAGE_SELF), 0.0
    for _ in range(rounds):
        results = []
        threads = [threading.Thread(target=one_stream, args=(client, tokens, results)) for _ in range(streams)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        wall_all += wall
        rates.append(sum(n for _, n in results) / wall)
        ttfts.extend(f for f, _ in results)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    # The client shares the machine with the server: its CPU (the openai package parsing every SSE
    # event) is time the server's threads did not get.
    client_cpu = (cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime) / wall_all
    return statistics.median(rates), statistics.median(ttfts), client_cpu


def run_engine(name, cmd, port, args):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(port, proc)
        res = {}
        for streams in (1, 4, 8):
            rate, ttft, client_cpu = measure(port, streams, args.tokens, args.rounds)
            res[streams] = rate
            print(f"{name:10s} streams={streams} aggregate={rate:8.2f} tok/s  ttft_median={ttft * 1000:8.1f} ms  "
                  f"client_cpu={client_cpu * 100:5.1f}% of a core", flush=True)
        print(f"{name:10s} scaling 8 vs 1 stream: {res[8] / res[1]:.2f}x", flush=True)
        return res
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kaiyuan", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cache-type", default="f32", choices=["f32", "f16"],
                    help="kaiyuan's KV cache (llama-server's default cache is f16)")
    args = ap.parse_args()
    print(f"# {' '.join(sys.argv)}  (load average {os.getloadavg()[0]:.1f})")
    port = free_port()
    ky = run_engine("kaiyuan", [args.kaiyuan, "serve", args.model, "--port", str(port), "--parallel", "8",
                                "-c", "1024", "-t", str(args.threads), "--alias", "m", "--quiet",
                                "--cache-type", args.cache_type], port, args)
    llama = os.environ.get("LLAMA_SERVER")
    if not llama:
        print("# llama-server column skipped: set LLAMA_SERVER=/path/to/llama-server")
        return
    port = free_port()
    ll = run_engine("llama.cpp", [llama, "-m", args.model, "--port", str(port), "--parallel", "8",
                                  "-c", "8192", "-t", str(args.threads), "--no-webui"], port, args)
    for s in (1, 4, 8):
        print(f"ratio kaiyuan/llama.cpp streams={s}: {ky[s] / ll[s]:.2f}x")


if __name__ == "__main__":
    main()
