#!/usr/bin/env bash
# The 2-thread oneDNN/OpenMP MLP step with and without one competing
# CPU-bound process (`yes > /dev/null`), under several libgomp wait policies,
# interleaved: for each round, for each policy, one run alone and one run
# with the competitor. Prints a markdown table of the medians and the
# slowdown (with competitor / alone) per policy.
#
# Usage (from anywhere inside the repository):
#   benchmarks/contention/run.sh [--rounds=3] [--min_time=1]
#       [--filter=BM_MlpStep_784_100x5_10/10/] [--out=table.md]
#       [--binary=kernels|mlp_hpo]
#       [--policies="none;ES_SINGLE_KEEP_OMP_WAIT_POLICY=1;OMP_WAIT_POLICY=PASSIVE"]
#
# A policy is "none" (nothing set: the project's choice, GOMP_SPINCOUNT=1000
# set by inner/kernels/omp_wait_policy.h at start-up) or space-separated
# VAR=VALUE pairs put in the benchmark's environment (libgomp reads them when
# it is loaded, so they must be in the environment before the process
# starts). ES_SINGLE_KEEP_OMP_WAIT_POLICY=1 keeps libgomp's own default
# (spin 300,000 iterations), the behaviour before omp_wait_policy.
# --binary=kernels (default) runs //inner/kernels:batched_mlp_benchmark (one
# forward + backward of the batched MLP); --binary=mlp_hpo runs
# //inner/mlp:mlp_hpo_benchmark (a whole ES-Single estimate; use e.g.
# --filter=BM_EsSingleManyHparams/10/). OMP_NUM_THREADS=2 throughout. The competitor is started and stopped by
# this script (by its own PID).
set -euo pipefail

ROUNDS=3
MIN_TIME=1
FILTER='BM_MlpStep_784_100x5_10/10/'
OUT=""
BINARY=kernels
POLICIES="ES_SINGLE_KEEP_OMP_WAIT_POLICY=1;none;OMP_WAIT_POLICY=PASSIVE;GOMP_SPINCOUNT=10000"
for arg in "$@"; do
  case "$arg" in
    --rounds=*) ROUNDS="${arg#*=}" ;;
    --min_time=*) MIN_TIME="${arg#*=}" ;;
    --filter=*) FILTER="${arg#*=}" ;;
    --policies=*) POLICIES="${arg#*=}" ;;
    --out=*) OUT="${arg#*=}" ;;
    --binary=*) BINARY="${arg#*=}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#'; exit 0 ;;
    *) echo "contention/run.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
case "$BINARY" in
  kernels) TARGET=//inner/kernels:batched_mlp_benchmark ;;
  mlp_hpo) TARGET=//inner/mlp:mlp_hpo_benchmark ;;
  *) echo "contention/run.sh: --binary must be kernels or mlp_hpo, got $BINARY" >&2; exit 2 ;;
esac
(cd "$ROOT" && bazel build "$TARGET" >&2)
BENCH="$ROOT/bazel-bin/${TARGET#//}"
BENCH="${BENCH/://}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/contention.XXXXXX")"

YES_PID=""
stop_competitor() {
  if [[ -n "$YES_PID" ]]; then kill "$YES_PID" 2>/dev/null || true; wait "$YES_PID" 2>/dev/null || true; fi
  YES_PID=""
}
trap stop_competitor EXIT

IFS=';' read -r -a POL <<<"$POLICIES"
run_one() {  # policy index, mode (alone|busy), round
  local p="${POL[$1]}" envs=()
  [[ "$p" != none ]] && read -r -a envs <<<"$p"
  if [[ "$2" == busy ]]; then
    yes >/dev/null &
    YES_PID=$!
    sleep 0.2
  fi
  env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u ES_SINGLE_KEEP_OMP_WAIT_POLICY \
    OMP_NUM_THREADS=2 "${envs[@]}" "$BENCH" --benchmark_filter="$FILTER" \
    --benchmark_min_time="$MIN_TIME" --benchmark_format=json \
    >"$WORK/p$1_$2_$3.json" 2>/dev/null
  stop_competitor
}

for r in $(seq 1 "$ROUNDS"); do
  for i in "${!POL[@]}"; do
    echo "[contention] round $r/$ROUNDS: ${POL[$i]}" >&2
    run_one "$i" alone "$r"
    run_one "$i" busy "$r"
  done
done

python3 - "$WORK" "$ROUNDS" "$OUT" "${POL[@]}" <<'PYEOF'
import json, statistics, sys
work, rounds, out, pols = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
def ms(path):
    bs = [b for b in json.load(open(path))["benchmarks"] if b.get("run_type") != "aggregate"]
    b = bs[0]
    return b["name"], b["real_time"] * {"ms": 1, "us": 1e-3, "ns": 1e-6}[b["time_unit"]]
lines = ["| policy | alone ms (rounds) | with `yes` ms (rounds) | median alone | median with `yes` | slowdown |",
         "|---|---|---|---:|---:|---:|"]
name = ""
for i, p in enumerate(pols):
    a = [ms(f"{work}/p{i}_alone_{r}.json") for r in range(1, rounds + 1)]
    b = [ms(f"{work}/p{i}_busy_{r}.json") for r in range(1, rounds + 1)]
    name = a[0][0]
    ma, mb = statistics.median(x for _, x in a), statistics.median(x for _, x in b)
    lines.append(f"| {p} | {', '.join(f'{x:.2f}' for _, x in a)} | "
                 f"{', '.join(f'{x:.2f}' for _, x in b)} | {ma:.2f} | {mb:.2f} | {mb / ma:.2f}x |")
text = f"Benchmark: {name}, OMP_NUM_THREADS=2, {rounds} interleaved rounds.\n\n" + "\n".join(lines)
print(text)
if out:
    open(out, "w").write(text + "\n")
PYEOF
echo "[contention] raw JSON in $WORK" >&2
