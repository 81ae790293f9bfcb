#!/usr/bin/env bash
# Regenerates the golden CSVs of the CIFAR-10 ResNet figures' --quick runs:
#   experiments/testdata/fig23_cifar_lr_momentum_quick.csv
#   experiments/testdata/fig24_cifar_many_hparams_quick.csv
# which //experiments:fig23_cifar_lr_momentum_test and
# //experiments:fig24_cifar_many_hparams_test compare against (relative
# tolerance 1e-5: float32 ResNets on oneDNN). The quick runs use
# --synthetic_data (generated images, not CIFAR-10), as the tests do.
#
# When regeneration is legitimate: only when a change is MEANT to alter the
# numbers of a quick run - a fix or deliberate change in an estimator, in
# inner/cifar (initialisation, minibatch sampling, update rule, losses, the
# kernel's arithmetic), in the synthetic generator of experiments/
# cifar_common, the random-number layout, the optimiser, or the quick
# settings or CSV layout of a binary - and after the behavioural tests in
# the same test targets still pass with the new numbers. Say why in the
# commit message. It is NOT a fix for a golden test that fails after an
# unrelated refactor or a compiler or flag change that should be
# numerically neutral. A host whose oneDNN picks another ISA may
# legitimately move float32 results by more than 1e-5: check that the
# behavioural tests pass there, then regenerate and say so.
#
# Runs with OMP_NUM_THREADS=1, like the tests (results do not depend on it).
#
#   experiments/testdata/regenerate_cifar.sh          # from anywhere in the repo
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel build //experiments:fig23_cifar_lr_momentum //experiments:fig24_cifar_many_hparams
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1
for b in fig23_cifar_lr_momentum fig24_cifar_many_hparams; do
  "bazel-bin/experiments/$b" --quick --synthetic_data --progress=false \
    --out_dir="$tmp/$b" >/dev/null
  cp "$tmp/$b/$b.csv" "experiments/testdata/${b}_quick.csv"
  echo "regenerated experiments/testdata/${b}_quick.csv ($(wc -l < "experiments/testdata/${b}_quick.csv") lines)"
done
echo "now run: bazel test //experiments:fig23_cifar_lr_momentum_test //experiments:fig24_cifar_many_hparams_test"
