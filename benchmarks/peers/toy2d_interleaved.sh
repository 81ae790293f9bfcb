#!/usr/bin/env bash
# Toy 2D (Fig. 15 settings: T = 100, K = 10, N = 100, sigma 0.3) per-estimate
# cost, ours against JAX, interleaved on the same machine so that both sides
# see the same load: R rounds of {toy2d_jax.py (whole run in lax.scan),
# //inner:toy2d_benchmark BM_EsSingleStep (float64 and float32)}, then a
# markdown table with every round and the median ratio.
#
# Usage (from anywhere inside the repository; the venv as in run_peers.sh):
#   benchmarks/peers/toy2d_interleaved.sh [--rounds=3] [--iterations=2000] [--out=table.md]
#
# Environment: PEERS_VENV (default $HOME/.cache/es_single_peers_venv) must
# already hold jax/optax/evosax (run_peers.sh installs them, or:
#   python3 -m venv /tmp/v && /tmp/v/bin/pip install jax==0.10.2 jaxlib==0.10.2
#       optax==0.2.8 evosax==0.3.2 flax==0.12.8 ).
#
# What is compared: JAX's seconds_per_estimate_scan (a whole training run -
# estimate + Adam + bookkeeping - compiled into one lax.scan, divided by the
# iterations; best of 3) against our GradientEstimator::Step (the estimate;
# the Adam update on 2 numbers is negligible), wall clock on both sides; and
# the same training run of ours (//experiments:fig15_toy2d --precision=float32
# --methods=es_single, same iterations): its sidecar's seconds_per_estimate.
set -euo pipefail

ROUNDS=3
ITERATIONS=2000
OUT=""
for arg in "$@"; do
  case "$arg" in
    --rounds=*) ROUNDS="${arg#*=}" ;;
    --iterations=*) ITERATIONS="${arg#*=}" ;;
    --out=*) OUT="${arg#*=}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#'; exit 0 ;;
    *) echo "toy2d_interleaved.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${PEERS_VENV:-$HOME/.cache/es_single_peers_venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "toy2d_interleaved.sh: no virtual environment at $VENV (set PEERS_VENV)" >&2
  exit 2
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/toy2d_interleaved.XXXXXX")"
(cd "$ROOT" && bazel build //inner:toy2d_benchmark //experiments:fig15_toy2d >&2)
BENCH="$ROOT/bazel-bin/inner/toy2d_benchmark"
FIG="$ROOT/bazel-bin/experiments/fig15_toy2d"

for r in $(seq 1 "$ROUNDS"); do
  echo "[toy2d_interleaved] round $r/$ROUNDS: JAX" >&2
  JAX_PLATFORMS=cpu "$VENV/bin/python" "$HERE/toy2d_jax.py" \
    --iterations="$ITERATIONS" --seeds=0 \
    --methods=listing_es_single,evosax_nres --out="$WORK/jax_$r.json" >/dev/null
  echo "[toy2d_interleaved] round $r/$ROUNDS: ours" >&2
  "$BENCH" --benchmark_filter='BM_EsSingleStep' --benchmark_min_time=1 \
    --benchmark_format=json >"$WORK/ours_$r.json"
  "$FIG" --precision=float32 --methods=es_single --seeds=0 --grid_size=0 \
    --iterations="$ITERATIONS" --progress=false --out_dir="$WORK/fig15_$r" >/dev/null 2>&1
done

"$VENV/bin/python" - "$WORK" "$ROUNDS" "$OUT" <<'PYEOF'
import json, statistics, sys
work, rounds, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows, ratios = [], {"listing": [], "nres": []}
for r in range(1, rounds + 1):
    jax = json.load(open(f"{work}/jax_{r}.json"))["methods"]
    ours = {b["name"]: b for b in json.load(open(f"{work}/ours_{r}.json"))["benchmarks"]}
    us = lambda b: b["real_time"] * {"us": 1, "ns": 1e-3, "ms": 1e3}[b["time_unit"]]
    f64 = us(ours["BM_EsSingleStep/100/10/0"])
    f32 = us(ours["BM_EsSingleStep/100/10/1"])
    lst = 1e6 * jax["listing_es_single"]["seconds_per_estimate_scan"]
    nres = 1e6 * jax["evosax_nres"]["seconds_per_estimate_scan"]
    run = 1e6 * json.load(open(f"{work}/fig15_{r}/fig15_toy2d.json"))["methods"]["es_single"]["seconds_per_estimate"]
    ratios["listing"].append(lst / f32)
    ratios["nres"].append(nres / f32)
    rows.append(f"| {r} | {f64:.1f} | {f32:.1f} | {lst:.1f} | {nres:.1f} | "
                f"{lst / f32:.2f} | {nres / f32:.2f} | {lst / f64:.2f} | {run:.1f} |")
text = "\n".join([
    "| round | ours f64 us/est | ours f32 us/est | JAX listing scan us/est | "
    "evosax NRES scan us/est | listing / ours f32 | NRES / ours f32 | listing / ours f64 | "
    "ours f32 in fig15_toy2d training run us/est |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    *rows,
    "",
    f"Median ratio (JAX time / our float32 time, > 1: ours faster): listing "
    f"{statistics.median(ratios['listing']):.2f}, evosax NRES "
    f"{statistics.median(ratios['nres']):.2f}.",
])
print(text)
if out:
    open(out, "w").write(text + "\n")
PYEOF
echo "[toy2d_interleaved] raw JSON in $WORK" >&2
