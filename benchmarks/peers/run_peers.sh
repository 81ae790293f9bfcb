#!/usr/bin/env bash
# Side-by-side comparison of our ES-Single / PES on the toy 2D task (Fig. 15)
# with the JAX ecosystem (evosax's NoiseReuseES / PersistentES and the paper's
# Appendix H listing). Optional; not part of `bazel test`, and the C++ project
# never depends on any of this.
#
# Usage (from anywhere inside the repository):
#   benchmarks/peers/run_peers.sh [--iterations=5000] [--seeds=0,1,2] [--out=table.md]
#                                 [--results_dir=DIR] [--skip_ours] [--skip_install]
#
# --seeds goes to both sides (same count; the random streams differ anyway).
#
# Environment:
#   PEERS_VENV   virtual environment to create/use
#                (default: $HOME/.cache/es_single_peers_venv)
#   PYTHON       interpreter that creates it (default: python3 on PATH)
#
# Steps: (1) create the venv and pip install the pinned peers from PyPI,
# (2) run toy2d_jax.py, (3) run //experiments:fig15_toy2d with the same number
# of iterations, (4) print a markdown table (also written to --out).
set -euo pipefail

# Pinned versions: the newest that install on Python 3.11 here and run the
# evosax API that toy2d_jax.py uses (evosax 0.3.x ask/tell with
# strategy.default_params.replace(T=, K=)). flax is evosax's dependency.
JAX_VERSION=0.10.2
JAXLIB_VERSION=0.10.2
OPTAX_VERSION=0.2.8
EVOSAX_VERSION=0.3.2
FLAX_VERSION=0.12.8

ITERATIONS=5000
SEEDS=0,1,2
OUT=""
RESULTS_DIR=""
SKIP_OURS=0
SKIP_INSTALL=0
for arg in "$@"; do
  case "$arg" in
    --iterations=*) ITERATIONS="${arg#*=}" ;;
    --seeds=*) SEEDS="${arg#*=}" ;;
    --out=*) OUT="${arg#*=}" ;;
    --results_dir=*) RESULTS_DIR="${arg#*=}" ;;
    --skip_ours) SKIP_OURS=1 ;;
    --skip_install) SKIP_INSTALL=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#'; exit 0 ;;
    *) echo "run_peers.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${PEERS_VENV:-$HOME/.cache/es_single_peers_venv}"
PY="${PYTHON:-python3}"
if [[ -z "$RESULTS_DIR" ]]; then
  RESULTS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/es_single_peers.XXXXXX")"
fi
mkdir -p "$RESULTS_DIR"
RESULTS_DIR="$(cd "$RESULTS_DIR" && pwd)"
if [[ -n "$OUT" && "$OUT" != /* ]]; then OUT="$PWD/$OUT"; fi

log() { echo "[run_peers] $*" >&2; }

# ---- (1) virtual environment + peers ---------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating virtual environment $VENV with $(command -v "$PY")"
  "$PY" -m venv "$VENV"
fi
if [[ "$SKIP_INSTALL" == 0 ]]; then
  log "pip install jax==$JAX_VERSION jaxlib==$JAXLIB_VERSION optax==$OPTAX_VERSION evosax==$EVOSAX_VERSION (first time: a few minutes)"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q \
    "jax==$JAX_VERSION" "jaxlib==$JAXLIB_VERSION" "optax==$OPTAX_VERSION" \
    "evosax==$EVOSAX_VERSION" "flax==$FLAX_VERSION"
fi
"$VENV/bin/python" - <<'EOF' >&2
from importlib import metadata
print("[run_peers] " + ", ".join(f"{p} {metadata.version(p)}"
      for p in ("jax", "jaxlib", "optax", "evosax", "flax")))
EOF

# ---- (2) the JAX side ------------------------------------------------------
JAX_JSON="$RESULTS_DIR/toy2d_jax.json"
log "running toy2d_jax.py --iterations=$ITERATIONS --seeds=$SEEDS"
JAX_PLATFORMS=cpu "$VENV/bin/python" "$HERE/toy2d_jax.py" \
  --iterations="$ITERATIONS" --seeds="$SEEDS" --out="$JAX_JSON" >/dev/null

# ---- (3) our binary --------------------------------------------------------
OURS_DIR="$RESULTS_DIR/ours"
OURS_JSON="$OURS_DIR/fig15_toy2d.json"
OURS_NOTE=""
TARGET=//experiments:fig15_toy2d
if [[ "$SKIP_OURS" == 1 ]]; then
  OURS_NOTE="Ours skipped (--skip_ours): ours columns are n/a."
elif ! command -v bazel >/dev/null 2>&1; then
  OURS_NOTE="bazel not found on PATH: ours columns are n/a."
  log "$OURS_NOTE"
elif ! (cd "$ROOT" && bazel query "$TARGET" >/dev/null 2>&1); then
  OURS_NOTE="Bazel target $TARGET does not exist (yet) in $ROOT: ours columns are n/a. Build it, then rerun."
  log "$OURS_NOTE"
else
  mkdir -p "$OURS_DIR"
  log "running bazel run -c opt $TARGET -- --methods=es_single,pes --out_dir=$OURS_DIR --iterations=$ITERATIONS --seeds=$SEEDS"
  if ! (cd "$ROOT" && bazel run -c opt "$TARGET" -- --methods=es_single,pes \
          --out_dir="$OURS_DIR" --iterations="$ITERATIONS" --seeds="$SEEDS" >&2); then
    OURS_NOTE="bazel run $TARGET failed (see stderr above): ours columns are n/a."
    log "$OURS_NOTE"
  elif [[ ! -f "$OURS_JSON" ]]; then
    OURS_NOTE="$TARGET ran but wrote no $OURS_JSON: ours columns are n/a."
    log "$OURS_NOTE"
  fi
fi

# ---- (4) the table ---------------------------------------------------------
log "results in $RESULTS_DIR"
ARGS=(--jax="$JAX_JSON" --ours="$OURS_JSON")
[[ -n "$OURS_NOTE" ]] && ARGS+=(--ours_note="$OURS_NOTE")
[[ -n "$OUT" ]] && ARGS+=(--out="$OUT")
"$VENV/bin/python" "$HERE/compare.py" "${ARGS[@]}"
