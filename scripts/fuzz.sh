#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan, build/fuzz) and runs them.
#
#   scripts/fuzz.sh [TARGET|all] SECONDS
#
# Each target runs for SECONDS with its seed corpus (made from ../shared/fixtures by
# fuzz/make_seeds.py) and dictionary. New inputs collect in $FUZZ_WORK/corpus/<target> and are
# reused by later runs. A crash, hang (-timeout), leak or out-of-memory (-rss_limit_mb) fails the
# script; the input is saved as $FUZZ_WORK/artifacts/<target>/<kind>-<sha1>. Reproduce with
#   build/fuzz/fuzz/<target> <that file>
# Environment: FUZZ_BUILD (build/fuzz), FUZZ_WORK ($FUZZ_BUILD/work), KAIYUAN_FIXTURES
# (../shared/fixtures), FUZZ_JOBS (2: build jobs), FUZZ_RSS_MB (2048), FUZZ_TIMEOUT (seconds one input
# may take: 10, fuzz_jinja 90), FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(fuzz_gguf fuzz_safetensors fuzz_hf_config fuzz_tokenizer_json fuzz_tokenize fuzz_jinja fuzz_request)

if (($# != 2)) || ! [[ $2 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 [TARGET|all] SECONDS   (targets: ${ALL_TARGETS[*]})" >&2
  exit 2
fi
if [[ $1 == all ]]; then
  targets=("${ALL_TARGETS[@]}")
else
  [[ " ${ALL_TARGETS[*]} " == *" $1 "* ]] || { echo "fuzz.sh: unknown target '$1' (targets: ${ALL_TARGETS[*]})" >&2; exit 2; }
  targets=("$1")
fi
seconds=$2

BUILD=${FUZZ_BUILD:-build/fuzz}
WORK=${FUZZ_WORK:-$BUILD/work}
FIXTURES=${KAIYUAN_FIXTURES:-$(cd .. && pwd)/shared/fixtures}
export KAIYUAN_FIXTURES=$FIXTURES
JOBS=${FUZZ_JOBS:-2}
RSS_MB=${FUZZ_RSS_MB:-2048}

# Largest input each target accepts: a little above its largest seed.
max_len() {
  case $1 in
    fuzz_gguf) echo 32768 ;;            # seeds: 16 KiB model headers
    fuzz_safetensors) echo 16384 ;;     # seeds: headers up to ~6 KiB
    fuzz_tokenizer_json) echo 65536 ;;  # seeds: shrunk tokenizer.json, ~20 KiB
    fuzz_jinja) echo 16384 ;;           # seeds: chat templates up to ~7 KiB
    *) echo 8192 ;;
  esac
}
# Seconds one input may run before it counts as a hang. A template may legitimately use the
# interpreter's whole step budget (10M steps: ~2 s in Release, ~40 s under ASan+UBSan -O1), so
# fuzz_jinja gets more; an unbounded loop still fails it.
timeout_for() {
  case $1 in
    fuzz_jinja) echo "${FUZZ_TIMEOUT:-90}" ;;
    *) echo "${FUZZ_TIMEOUT:-10}" ;;
  esac
}
dict() {
  case $1 in
    fuzz_gguf) echo fuzz/dicts/gguf.dict ;;
    fuzz_tokenize) echo "" ;;
    fuzz_jinja) echo fuzz/dicts/jinja.dict ;;
    *) echo fuzz/dicts/json.dict ;;
  esac
}

# Build (configure once; ninja rebuilds only what changed).
if [[ ! -f $BUILD/build.ninja ]]; then
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD" -G Ninja -DKAIYUAN_FUZZ=ON \
    -DKAIYUAN_BUILD_TESTS=OFF -DKAIYUAN_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only"
fi
cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]}"

# Seeds are regenerated each run (cheap); the corpus keeps what earlier runs found.
rm -rf "$WORK/seeds"
python3 fuzz/make_seeds.py "$FIXTURES" "$WORK/seeds"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "${targets[@]}"; do
  corpus=$WORK/corpus/$t
  artifacts=$WORK/artifacts/$t
  mkdir -p "$corpus" "$artifacts" "$WORK/seeds/$t" "$WORK/logs"
  log=$WORK/logs/$t.log
  args=(-max_total_time="$seconds" -timeout="$(timeout_for "$t")" -rss_limit_mb="$RSS_MB" -max_len="$(max_len "$t")"
        -print_final_stats=1 -artifact_prefix="$artifacts/")
  d=$(dict "$t")
  [[ -n $d ]] && args+=(-dict="$d")
  # shellcheck disable=SC2206
  [[ -n ${FUZZ_ARGS:-} ]] && args+=($FUZZ_ARGS)
  echo "== $t: ${seconds}s (log: $log)"
  # Inputs that once crashed a target (fuzz/regressions/<target>) are replayed first by every run.
  dirs=("$corpus" "$WORK/seeds/$t")
  [[ -d fuzz/regressions/$t ]] && dirs+=("fuzz/regressions/$t")
  if "$BUILD/fuzz/$t" "${args[@]}" "${dirs[@]}" >"$log" 2>&1; then
    # libFuzzer's final line (coverage, features, corpus) and its -print_final_stats figures.
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1
    grep -E '^stat::' "$log" | tr -s ' \n' ' '
    echo "corpus: $(find "$corpus" -type f | wc -l) files"
  else
    failed+=("$t")
    grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse|INITED|RELOAD)' "$log" | tail -n 50
    echo "== $t FAILED; input saved in $artifacts/:"
    ls -1 "$artifacts"
  fi
done

if ((${#failed[@]})); then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s) ran ${seconds}s each without a finding"
