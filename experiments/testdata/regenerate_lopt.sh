#!/usr/bin/env bash
# Regenerates the golden CSVs of the learned-optimiser figures' --quick runs:
#   experiments/testdata/fig11_learned_optimizer_quick{,_inner,_adam}.csv
#   experiments/testdata/fig21_lopt_sigma_quick{,_inner,_adam}.csv
# which //experiments:fig11_learned_optimizer_test and
# //experiments:fig21_lopt_sigma_test compare against (relative tolerance
# 1e-5: the inner problem trains float32 MLPs with a float32 learned
# optimiser on oneDNN).
#
# When regeneration is legitimate: as for regenerate_hpo.sh - only when a
# change is MEANT to alter the quick runs' numbers (an estimator, inner/lopt
# arithmetic or initialisation, minibatch sampling, the random-number
# layout, the outer optimiser, or the quick settings or CSV layout of a
# binary), after the behavioural tests still pass with the new numbers; say
# why in the commit message. A host whose oneDNN picks another ISA may
# legitimately move float32 results by more than 1e-5: check the behavioural
# tests there, then regenerate and say so.
#
# Runs with OMP_NUM_THREADS=1, like the tests (results do not depend on it).
#
#   experiments/testdata/regenerate_lopt.sh          # from anywhere in the repo
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel build //experiments:fig11_learned_optimizer //experiments:fig21_lopt_sigma
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1
for b in fig11_learned_optimizer fig21_lopt_sigma; do
  "bazel-bin/experiments/$b" --quick --progress=false --out_dir="$tmp/$b" >/dev/null
  for s in "" _inner _adam; do
    cp "$tmp/$b/$b$s.csv" "experiments/testdata/${b}_quick$s.csv"
    echo "regenerated experiments/testdata/${b}_quick$s.csv"
  done
done
echo "now run: bazel test //experiments:fig11_learned_optimizer_test //experiments:fig21_lopt_sigma_test"
