#!/usr/bin/env bash
# Regenerates the golden CSVs of the MNIST LR-schedule figures' --quick runs:
#   experiments/testdata/fig7_mnist_lr_schedule_quick{,_grid}.csv
#   experiments/testdata/fig17_18_mnist_k1_quick{,_grid}.csv
#   experiments/testdata/fig19_meta_gradients_quick{,_grads,_grid}.csv
#   experiments/testdata/fig26_gdtuo_quick{,_online}.csv
# which //experiments:fig7_mnist_lr_schedule_test, fig17_18_mnist_k1_test,
# fig19_meta_gradients_test and fig26_gdtuo_test compare against (relative
# tolerance 1e-5: the inner problems train float32 MLPs on oneDNN).
#
# When regeneration is legitimate: only when a change is MEANT to alter the
# numbers of a quick run - a fix or deliberate change in an estimator, in
# inner/mlp/mlp_hpo (initialisation, minibatch sampling, update rule, losses),
# in the batched MLP kernel's arithmetic, in the hypergradient baseline
# (inner/mlp/mlp_hypergradient), the random-number layout, the optimiser,
# the MNIST split, or the quick settings or CSV layout of a binary - and after
# the behavioural tests in the same test targets still pass with the new
# numbers. Say why in the commit message. It is NOT a fix for a golden test that
# fails after an unrelated refactor or a compiler or flag change that should be
# numerically neutral. A machine whose oneDNN picks another ISA (say AVX2
# instead of AVX-512) may legitimately move float32 results by more than 1e-5
# over the quick runs' few hundred SGD steps: check that the behavioural tests
# pass there, then regenerate and say so.
#
# Needs MNIST: ES_SINGLE_DATA_DIR (default: ../shared/data beside the repository, as in CI). Runs
# with OMP_NUM_THREADS=1, like the tests (results do not depend on it).
#
#   experiments/testdata/regenerate_mnist.sh        # from anywhere in the repo
set -euo pipefail
cd "$(dirname "$0")/../.."
export ES_SINGLE_DATA_DIR="${ES_SINGLE_DATA_DIR:-$(cd .. && pwd)/shared/data}"
bazel build //experiments:fig7_mnist_lr_schedule //experiments:fig17_18_mnist_k1 \
  //experiments:fig19_meta_gradients //experiments:fig26_gdtuo
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
for b in fig7_mnist_lr_schedule fig17_18_mnist_k1 fig19_meta_gradients fig26_gdtuo; do
  "bazel-bin/experiments/$b" --quick --progress=false --out_dir="$tmp/$b" >/dev/null
done
copy fig7_mnist_lr_schedule "" _grid
copy fig17_18_mnist_k1 "" _grid
copy fig19_meta_gradients "" _grads _grid
copy fig26_gdtuo "" _online
echo "now run: ES_SINGLE_DATA_DIR=$ES_SINGLE_DATA_DIR bazel test" \
     "//experiments:fig7_mnist_lr_schedule_test //experiments:fig17_18_mnist_k1_test" \
     "//experiments:fig19_meta_gradients_test //experiments:fig26_gdtuo_test"
