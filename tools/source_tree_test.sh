#!/usr/bin/env bash
# Checks on the source tree itself (it is read in place, so the test is
# tagged "external" and never cached):
#   1. no tracked file outside results/ names an absolute path of a
#      development machine (a workspace or home-directory prefix): docs and messages
#      say what a directory must hold and use placeholders (<data dir>);
#   2. the scoreboard tables of docs/results.md and README.md are what
#      tools/scoreboard.py computes from the committed results/, and every
#      committed PNG in docs/figures/ was drawn from the current results/
#      files (the SHA-256s in docs/figures/figures.json; issue 17).
# Run sidecars under results/ keep the commands as they were run.
set -uo pipefail
readme="$(readlink -f "$1")"
root="$(dirname "$readme")"
cd "$root" || exit 1
status=0
if [[ -d .git || -f .git ]] && command -v git >/dev/null; then
  files=$(git ls-files | grep -v '^results/' | grep -v '^tools/source_tree_test.sh$')
else
  files=$(find . -type f -not -path './bazel-*' -not -path './.git/*' -not -path './results/*' \
            -not -name source_tree_test.sh | sed 's|^\./||')
fi
hits=$(echo "$files" | tr '\n' '\0' | xargs -0 grep -nE '/(w)ork/|/(h)ome/[a-z]' 2>/dev/null || true)
if [[ -n "$hits" ]]; then
  echo "FAIL: tracked files name a development machine's absolute path (use a placeholder):"
  echo "$hits" | head -20
  status=1
else
  echo "ok   no development-machine paths in $(echo "$files" | wc -l) tracked files"
fi
if ! /usr/bin/python3 tools/scoreboard.py --check --root "$root"; then
  status=1
fi
exit $status
