#!/usr/bin/env bash
# Regenerates the golden CSVs of the LSTM figures' --quick runs:
#   experiments/testdata/fig1_lstm_variance_quick{,_reference}.csv
#   experiments/testdata/fig10_copy_task_quick.csv
# which //experiments:fig1_lstm_variance_test and fig10_copy_task_test
# compare against (relative tolerance 1e-5: float32 LSTM kernels, the SoA
# path at H = 5 and oneDNN at H = 16, B = 32).
#
# When regeneration is legitimate: only when a change is MEANT to alter the
# numbers of a quick run - a fix or deliberate change in an estimator, in
# inner/lstm (text, streams, curriculum, initialisation), in the LSTM
# kernels' arithmetic, the random-number layout, the optimiser, the
# variance machinery (variance_study/variance.h), or the quick settings or
# CSV layout of a binary - and after the behavioural tests in the same test
# targets still pass with the new numbers. Say why in the commit message. It
# is NOT a fix for a golden test that fails after an unrelated refactor. A
# machine whose oneDNN picks another ISA may move the copy task's float32
# training enough to shift a curriculum raise by an iteration: check that the
# behavioural tests pass there, then regenerate and say so.
#
# Needs PTB: ES_SINGLE_DATA_DIR (default: ../shared/data beside the
# repository, as in CI). Runs with OMP_NUM_THREADS=1, like the tests.
#
#   experiments/testdata/regenerate_lstm.sh        # from anywhere in the repo
set -euo pipefail
cd "$(dirname "$0")/../.."
export ES_SINGLE_DATA_DIR="${ES_SINGLE_DATA_DIR:-$(cd .. && pwd)/shared/data}"
bazel build //experiments:fig1_lstm_variance //experiments:fig10_copy_task
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1
copy() {  # <binary> <suffixes...>
  local b="$1"; shift
  for s in "$@"; do
    cp "$tmp/$b/$b$s.csv" "experiments/testdata/${b}_quick$s.csv"
    echo "regenerated experiments/testdata/${b}_quick$s.csv" \
         "($(wc -l < "experiments/testdata/${b}_quick$s.csv") lines)"
  done
}
for b in fig1_lstm_variance fig10_copy_task; do
  "bazel-bin/experiments/$b" --quick --progress=false --out_dir="$tmp/$b" >/dev/null
done
copy fig1_lstm_variance "" _reference
copy fig10_copy_task ""
echo "now run: ES_SINGLE_DATA_DIR=$ES_SINGLE_DATA_DIR bazel test" \
     "//experiments:fig1_lstm_variance_test //experiments:fig10_copy_task_test"
