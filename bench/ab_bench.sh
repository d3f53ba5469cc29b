#!/bin/bash
# Interleaved A/B of kaiyuan binaries on one model: runs `BIN bench MODEL ARGS --json` for each
# binary in turn, N rounds, and prints the best and the median tokens/s per binary and test. On a
# shared host whose speed swings within minutes, compare binaries only this way (same rounds,
# interleaved), and prefer the best-of-N, which steal time affects least.
#   bench/ab_bench.sh MODEL "-p 512 -n 0 -r 1 -t 2 --cache-type f16" 8 /tmp/kaiyuan_old build/release/tools/kaiyuan/kaiyuan
set -euo pipefail
if [[ $# -lt 4 ]]; then
  echo "usage: $0 MODEL \"BENCH ARGS\" ROUNDS BINARY..." >&2
  exit 2
fi
model=$1 args=$2 rounds=$3
shift 3
for ((i = 0; i < rounds; ++i)); do
  for bin in "$@"; do
    # shellcheck disable=SC2086  # ARGS is a list of options
    "$bin" bench "$model" $args --json 2>/dev/null | BIN="$bin" python3 -c '
import json, os, sys
for line in sys.stdin:
    j = json.loads(line)
    if "test" in j:
        print(os.environ["BIN"], j["test"], j["tokens_per_s"])'
  done
done | python3 -c '
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in sys.stdin:
    bin_, test, tps = line.split()
    runs[(bin_, test)].append(float(tps))
for (bin_, test), v in runs.items():
    print(f"{bin_}  {test}  best {max(v):.1f}  median {statistics.median(v):.1f}  runs {len(v)}")'
