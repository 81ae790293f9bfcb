#!/usr/bin/env bash
# Regenerates the golden CSVs of the figure binaries' --quick runs:
#   experiments/testdata/fig5_influence_quick.csv
#   experiments/testdata/fig15_toy2d_quick.csv
#   experiments/testdata/fig25_dodge_quick.csv
#   experiments/testdata/fig15_toy2d_quick_float32.csv (--precision=float32;
#     only //experiments:portable_bits_test compares against it)
# which //experiments:fig5_influence_test, //experiments:fig15_toy2d_test
# and //experiments:fig25_dodge_test compare against EXACTLY (tolerance 0:
# these figures are double precision in our own code, and the default build
# gives the same bits on every x86-64 host; see figure_test_util.h).
#
# When regeneration is legitimate: only when a change is MEANT to alter the
# numbers of a quick run - a fix or deliberate change in an estimator, an
# inner problem, the random-number layout, the optimiser, or the quick
# settings, method list or CSV layout of a binary - and after the behavioural
# tests in the same test targets (truncated ES moves the wrong way, ES-Single
# with N = 4 converges, ES-Single reduces the toy 2D meta-loss, small-sigma
# ES-Single tracks DODGE, ...) still pass with the new numbers. When a change
# only ADDS methods, check that the rows of the methods already there did not
# change (e.g. diff the old and new files after filtering out the new
# methods' rows). Say why in the commit message. It is NOT a fix for a golden test
# that fails after an unrelated refactor, a compiler or flag change that
# should be numerically neutral, or a new machine: investigate those first.
# A new machine must NOT change these bits under the default build (only a
# different compiler, glibc/libm or build configuration may); a difference
# there is a portability bug.
#
#   experiments/testdata/regenerate.sh          # from anywhere in the repo
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel build //experiments:fig5_influence //experiments:fig15_toy2d \
  //experiments:fig25_dodge
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for b in fig5_influence fig15_toy2d fig25_dodge; do
  "bazel-bin/experiments/$b" --quick --progress=false --out_dir="$tmp/$b" >/dev/null
  cp "$tmp/$b/$b.csv" "experiments/testdata/${b}_quick.csv"
  echo "regenerated experiments/testdata/${b}_quick.csv ($(wc -l < "experiments/testdata/${b}_quick.csv") lines)"
done
"bazel-bin/experiments/fig15_toy2d" --quick --precision=float32 --progress=false \
  --out_dir="$tmp/fig15_toy2d_float32" >/dev/null
cp "$tmp/fig15_toy2d_float32/fig15_toy2d.csv" experiments/testdata/fig15_toy2d_quick_float32.csv
echo "regenerated experiments/testdata/fig15_toy2d_quick_float32.csv"
echo "now run: bazel test //experiments/..."
