#!/usr/bin/env bash
# Influence balancing (Fig. 5: K = 1, sigma 0.1, N = 4 and 1000) per-estimate
# cost, ours (//inner:influence_balancing_benchmark BM_EsSingleStep, float64)
# against JAX (influence_jax.py: the whole training run - estimate + Adam - in
# one lax.scan, float32), interleaved: R rounds of {JAX, ours}, then a
# markdown table. Wall clock on both sides.
#
# Usage (from anywhere inside the repository; PEERS_VENV as in run_peers.sh):
#   benchmarks/peers/influence_interleaved.sh [--rounds=3] [--out=table.md]
set -euo pipefail

ROUNDS=3
OUT=""
for arg in "$@"; do
  case "$arg" in
    --rounds=*) ROUNDS="${arg#*=}" ;;
    --out=*) OUT="${arg#*=}" ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#'; exit 0 ;;
    *) echo "influence_interleaved.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${PEERS_VENV:-$HOME/.cache/es_single_peers_venv}"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "influence_interleaved.sh: no virtual environment at $VENV (set PEERS_VENV)" >&2
  exit 2
fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/influence_interleaved.XXXXXX")"
(cd "$ROOT" && bazel build //inner:influence_balancing_benchmark >&2)
BENCH="$ROOT/bazel-bin/inner/influence_balancing_benchmark"

for r in $(seq 1 "$ROUNDS"); do
  echo "[influence_interleaved] round $r/$ROUNDS" >&2
  JAX_PLATFORMS=cpu "$VENV/bin/python" "$HERE/influence_jax.py" --N=4,1000 \
    --out="$WORK/jax_$r.json" >/dev/null
  "$BENCH" --benchmark_filter='BM_EsSingleStep' --benchmark_min_time=0.5 \
    --benchmark_format=json >"$WORK/ours_$r.json"
done

"$VENV/bin/python" - "$WORK" "$ROUNDS" "$OUT" <<'PYEOF'
import json, statistics, sys
work, rounds, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows, ratios = [], {4: [], 1000: []}
scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3}
for r in range(1, rounds + 1):
    jax = {x["N"]: x for x in json.load(open(f"{work}/jax_{r}.json"))["runs"]}
    for b in json.load(open(f"{work}/ours_{r}.json"))["benchmarks"]:
        n = int(b["name"].split("/")[1])
        wall = b["real_time"] * scale[b["time_unit"]]
        cpu = b["cpu_time"] * scale[b["time_unit"]]
        j = 1e6 * jax[n]["seconds_per_estimate_scan"]
        ratios[n].append(j / wall)
        rows.append(f"| {r} | {n} | {wall:.3f} | {cpu:.3f} | {j:.3f} | {j / wall:.2f} |")
text = "\n".join([
    "| round | N | ours f64 us/estimate (wall) | ours (CPU) | JAX f32 scan us/estimate (wall, best of 3) | JAX / ours wall |",
    "|---|---:|---:|---:|---:|---:|",
    *rows,
    "",
    "Median ratio JAX / ours (> 1: ours faster): " + ", ".join(
        f"N = {n}: {statistics.median(v):.2f}" for n, v in ratios.items() if v) + ".",
])
print(text)
if out:
    open(out, "w").write(text + "\n")
PYEOF
echo "[influence_interleaved] raw JSON in $WORK" >&2
