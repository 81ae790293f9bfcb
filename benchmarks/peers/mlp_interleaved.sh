#!/usr/bin/env bash
# One ES-Single estimate on the Fig. 9 (784-100x5-10, 29 hyperparameters) or
# Fig. 7 (784-100-100-10, LR schedule) MLP problem, K = 10, B = 100, N = 10
# and 100: ours (//inner/mlp:mlp_hpo_benchmark, oneDNN float32, default
# threads) against JAX (mlp_jax.py, float32, XLA CPU), interleaved: R rounds
# of {JAX, ours}, then a markdown table with every round, our GFLOP/s and
# fraction of the matmul peak measured in the same process, and the ratios.
#
# Usage (from anywhere inside the repository):
#   benchmarks/peers/mlp_interleaved.sh [--shape=fig9|fig7] [--rounds=3] [--out=table.md]
#
# Environment: PEERS_VENV (default $HOME/.cache/es_single_peers_venv) with
# jax installed (run_peers.sh installs it; or python3 -m venv /tmp/v &&
# /tmp/v/bin/pip install jax==0.10.2 jaxlib==0.10.2).
set -euo pipefail

SHAPE=fig9
ROUNDS=3
OUT=""
for arg in "$@"; do
  case "$arg" in
    --shape=*) SHAPE="${arg#*=}" ;;
    --rounds=*) ROUNDS="${arg#*=}" ;;
    --out=*) OUT="${arg#*=}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#'; exit 0 ;;
    *) echo "mlp_interleaved.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done
case "$SHAPE" in
  fig9) FILTER='BM_EsSingleManyHparams/' ;;
  fig7) FILTER='BM_EsSingleLrSchedule/' ;;
  *) echo "mlp_interleaved.sh: --shape must be fig9 or fig7, got $SHAPE" >&2; exit 2 ;;
esac

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${PEERS_VENV:-$HOME/.cache/es_single_peers_venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "mlp_interleaved.sh: no virtual environment at $VENV (set PEERS_VENV)" >&2
  exit 2
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mlp_interleaved.XXXXXX")"
(cd "$ROOT" && bazel build //inner/mlp:mlp_hpo_benchmark >&2)
BENCH="$ROOT/bazel-bin/inner/mlp/mlp_hpo_benchmark"

for r in $(seq 1 "$ROUNDS"); do
  echo "[mlp_interleaved] round $r/$ROUNDS: JAX" >&2
  JAX_PLATFORMS=cpu "$VENV/bin/python" "$HERE/mlp_jax.py" --shape="$SHAPE" \
    --N=10,100 --repeats=3 --out="$WORK/jax_$r.json" >/dev/null
  echo "[mlp_interleaved] round $r/$ROUNDS: ours" >&2
  "$BENCH" --benchmark_filter="$FILTER" --benchmark_min_time=1 \
    --benchmark_format=json >"$WORK/ours_$r.json"
done

"$VENV/bin/python" - "$WORK" "$ROUNDS" "$OUT" "$SHAPE" <<'PYEOF'
import json, statistics, sys
work, rounds, out, shape = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows, ratios = [], {10: [], 100: []}
for r in range(1, rounds + 1):
    jax = {x["N"]: x for x in json.load(open(f"{work}/jax_{r}.json"))["runs"]}
    for b in json.load(open(f"{work}/ours_{r}.json"))["benchmarks"]:
        n = int(b["name"].split("/")[1])
        ms = b["real_time"] * {"ms": 1, "us": 1e-3, "ns": 1e-6}[b["time_unit"]]
        jms = 1e3 * jax[n]["seconds_per_estimate_median"]
        ratios[n].append(jms / ms)
        rows.append(f"| {r} | {n} | {ms:.1f} | {b['GFLOPS']:.1f} | {b['peak_GFLOPS']:.1f} | "
                    f"{100 * b['peak_fraction']:.0f}% | {jms:.1f} | {jms / ms:.2f} |")
text = "\n".join([
    f"Shape {shape}, K = 10, B = 100, {rounds} interleaved rounds (JAX: median of 3 calls; "
    "ours: Google Benchmark, min_time 1 s).",
    "",
    "| round | N | ours ms/estimate | ours GFLOP/s | peak GFLOP/s (same process) | fraction of peak | "
    "JAX ms/estimate | JAX / ours |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    *rows,
    "",
    "Median ratio JAX / ours (> 1: ours faster): " + ", ".join(
        f"N = {n}: {statistics.median(v):.2f}" for n, v in ratios.items() if v) + ".",
])
print(text)
if out:
    open(out, "w").write(text + "\n")
PYEOF
echo "[mlp_interleaved] raw JSON in $WORK" >&2
