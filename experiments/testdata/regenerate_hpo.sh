#!/usr/bin/env bash
# Regenerates the golden CSVs of the MLP hyperparameter figures' --quick runs:
#   experiments/testdata/fig8_fmnist_telescoping_quick.csv
#   experiments/testdata/fig8_fmnist_telescoping_quick_grid.csv
#   experiments/testdata/fig9_many_hparams_quick.csv
# which //experiments:fig8_fmnist_telescoping_test and
# //experiments:fig9_many_hparams_test compare against (relative tolerance
# 1e-5: the inner problems train float32 MLPs on oneDNN).
#
# When regeneration is legitimate: only when a change is MEANT to alter the
# numbers of a quick run - a fix or deliberate change in an estimator, in
# inner/mlp/mlp_hpo (initialisation, minibatch sampling, update rule, losses),
# in the batched MLP kernel's arithmetic, the random-number layout, the
# optimiser, or the quick settings or CSV layout of a binary - and after the
# behavioural tests in the same test targets still pass with the new numbers.
# Say why in the commit message. It is NOT a fix for a golden test that fails
# after an unrelated refactor or a compiler or flag change that should be
# numerically neutral. A new machine whose oneDNN picks another ISA (say AVX2
# instead of AVX-512) may legitimately move float32 results by more than 1e-5
# over the quick runs' few hundred SGD steps: check that the behavioural tests
# pass there, then regenerate and say so.
#
# Runs with OMP_NUM_THREADS=1, like the tests (results do not depend on it).
#
#   experiments/testdata/regenerate_hpo.sh          # from anywhere in the repo
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel build //experiments:fig8_fmnist_telescoping //experiments:fig9_many_hparams
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1
for b in fig8_fmnist_telescoping fig9_many_hparams; do
  "bazel-bin/experiments/$b" --quick --progress=false --out_dir="$tmp/$b" >/dev/null
  cp "$tmp/$b/$b.csv" "experiments/testdata/${b}_quick.csv"
  echo "regenerated experiments/testdata/${b}_quick.csv ($(wc -l < "experiments/testdata/${b}_quick.csv") lines)"
done
cp "$tmp/fig8_fmnist_telescoping/fig8_fmnist_telescoping_grid.csv" \
   experiments/testdata/fig8_fmnist_telescoping_quick_grid.csv
echo "regenerated experiments/testdata/fig8_fmnist_telescoping_quick_grid.csv"
echo "now run: bazel test //experiments:fig8_fmnist_telescoping_test //experiments:fig9_many_hparams_test"
