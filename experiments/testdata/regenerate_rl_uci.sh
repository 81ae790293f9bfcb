#!/usr/bin/env bash
# Regenerates the golden CSVs of the --quick runs of the figures on UCI Yacht
# and the MuJoCo Swimmer:
#   experiments/testdata/fig14_uci_yacht_quick{,_val,_grid}.csv
#   experiments/testdata/fig22_swimmer_quick{,_return}.csv
# which //experiments:fig14_uci_yacht_test and //experiments:fig22_swimmer_test
# compare against EXACTLY (double precision in our own code and MuJoCo's C
# code; see figure_test_util.h). When regeneration is legitimate: see
# regenerate.sh (only for a change MEANT to alter the numbers, after the
# behavioural tests pass with the new numbers; say why in the commit).
#
# Needs the data: ES_SINGLE_DATA_DIR (default: ../shared/data beside the
# repository, as in CI).
#
#   experiments/testdata/regenerate_rl_uci.sh       # from anywhere in the repo
set -euo pipefail
cd "$(dirname "$0")/../.."
export ES_SINGLE_DATA_DIR="${ES_SINGLE_DATA_DIR:-$(cd .. && pwd)/shared/data}"
binaries=()
for b in fig14_uci_yacht fig22_swimmer; do
  [[ -f "experiments/$b.cc" ]] && binaries+=("$b")
done
bazel build "${binaries[@]/#/\/\/experiments:}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
copy() {  # <binary> <suffixes...>
  local b="$1"; shift
  for s in "$@"; do
    cp "$tmp/$b/$b$s.csv" "experiments/testdata/${b}_quick$s.csv"
    echo "regenerated experiments/testdata/${b}_quick$s.csv" \
         "($(wc -l < "experiments/testdata/${b}_quick$s.csv") lines)"
  done
}
for b in "${binaries[@]}"; do
  "bazel-bin/experiments/$b" --quick --progress=false --out_dir="$tmp/$b" >/dev/null
  case "$b" in
    fig14_uci_yacht) copy "$b" "" _val _grid ;;
    fig22_swimmer) copy "$b" "" _return ;;
  esac
done
echo "now run: ES_SINGLE_DATA_DIR=$ES_SINGLE_DATA_DIR bazel test" \
     "${binaries[@]/#/\/\/experiments:}" | sed 's/ \/\/experiments:\([a-z0-9_]*\)/ \/\/experiments:\1_test/g'
