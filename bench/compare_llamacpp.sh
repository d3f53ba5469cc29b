#!/usr/bin/env bash
# Runs `kaiyuan bench` and llama.cpp's `llama-bench` on the SAME GGUF files, interleaved (kaiyuan,
# llama.cpp, kaiyuan, ... for PASSES passes), and prints tokens/s per engine, model and test with
# the ratio kaiyuan / llama.cpp of the medians over all passes. Only ratios from one run count:
# the machines are shared and their absolute speed varies (../shared/peers/README.md).
#
# usage: bench/compare_llamacpp.sh MODEL.gguf [MODEL.gguf ...]
# env:   KAIYUAN=path to the kaiyuan binary (default build/kernels-rel/tools/kaiyuan/kaiyuan, a Release build)
#        LLAMA_BENCH=path to llama-bench (peer column skipped, saying so, when unset or missing)
#        P=512 N=128 R=5 T=2 PASSES=1   (llama-bench's -p -n -r -t; passes of both engines)
#        CACHE=f32|f16  kaiyuan's KV cache type (llama-bench's default cache is f16)
# needs: jq
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
KAIYUAN="${KAIYUAN:-$here/build/kernels-rel/tools/kaiyuan/kaiyuan}"
P="${P:-512}" N="${N:-128}" R="${R:-5}" T="${T:-2}" PASSES="${PASSES:-1}" CACHE="${CACHE:-f32}"

if [[ $# -eq 0 ]]; then
  echo "usage: $0 MODEL.gguf [MODEL.gguf ...]" >&2
  exit 2
fi
[[ -x "$KAIYUAN" ]] || { echo "error: kaiyuan binary not found at $KAIYUAN (set KAIYUAN=)" >&2; exit 2; }
command -v jq > /dev/null || { echo "error: jq is required" >&2; exit 2; }
peer=""
if [[ -n "${LLAMA_BENCH:-}" && -x "${LLAMA_BENCH}" ]]; then
  peer="$LLAMA_BENCH"
else
  echo "note: LLAMA_BENCH not set or not executable: llama.cpp column skipped" >&2
fi

median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "kaiyuan: $KAIYUAN bench -p $P -n $N -r $R -t $T --json --cache-type $CACHE"
[[ -n "$peer" ]] && echo "llama.cpp: $peer -p $P -n $N -r $R -t $T -o json"
printf '\n%-40s %-7s %14s %14s %8s %s\n' model test "kaiyuan t/s" "llama.cpp t/s" ratio "isa"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for model in "$@"; do
  name="$(basename "$model")"
  : > "$tmp/ky" ; : > "$tmp/lc"
  for ((pass = 0; pass < PASSES; pass++)); do
    "$KAIYUAN" bench "$model" -p "$P" -n "$N" -r "$R" -t "$T" --json --cache-type "$CACHE" >> "$tmp/ky"
    if [[ -n "$peer" ]]; then
      "$peer" -m "$model" -p "$P" -n "$N" -r "$R" -t "$T" -o json 2> /dev/null |
        jq -c '.[] | {test: (if .n_prompt > 0 then "pp\(.n_prompt)" else "tg\(.n_gen)" end), tokens_per_s: .avg_ts}' >> "$tmp/lc"
    fi
  done
  isa="$(jq -r '.isa' "$tmp/ky" | head -n1)"
  for test in "pp$P" "tg$N"; do
    ky="$(jq -r --arg t "$test" 'select(.test == $t) | .tokens_per_s' "$tmp/ky" | median)"
    if [[ -n "$peer" ]]; then
      lc="$(jq -r --arg t "$test" 'select(.test == $t) | .tokens_per_s' "$tmp/lc" | median)"
      ratio="$(awk -v a="$ky" -v b="$lc" 'BEGIN {printf "%.2fx", a / b}')"
    else
      lc="-" ratio="-"
    fi
    printf '%-40s %-7s %14.2f %14s %8s %s\n' "$name" "$test" "$ky" "$lc" "$ratio" "$isa"
  done
  jq -r '"  kaiyuan peak RSS \(.peak_rss_mib) MiB, load \(.load_s) s"' "$tmp/ky" | tail -n1
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
