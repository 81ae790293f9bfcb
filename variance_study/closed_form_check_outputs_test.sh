#!/usr/bin/env bash
# closed_form_check's outputs (docs/reliability.md): a shell metacharacter in
# --out_dir is just part of the path (no shell is involved), and a write
# failure is exit 1 naming the path, never exit 0.
set -uo pipefail
bin="$1"
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
dir="$tmp/q'uote \$(touch $tmp/pwned)"
"$bin" --quick --out_dir="$dir" >"$tmp/ok.log" 2>&1 || { echo "FAIL: exit $?"; cat "$tmp/ok.log"; exit 1; }
[[ -s "$dir/closed_form_check.csv" && -s "$dir/unroll_sweep.csv" ]] || { echo "FAIL: outputs missing in $dir"; exit 1; }
[[ ! -e "$tmp/pwned" ]] || { echo "FAIL: a command in --out_dir ran"; exit 1; }
ls "$dir" | grep -q '\.tmp$' && { echo "FAIL: temporary files left"; exit 1; }
echo x >"$tmp/afile"
if "$bin" --quick --out_dir="$tmp/afile/sub" >"$tmp/bad.log" 2>&1; then
  echo "FAIL: writing under a file exited 0"; exit 1
fi
grep -q "afile/sub" "$tmp/bad.log" || { echo "FAIL: the error does not name the path"; cat "$tmp/bad.log"; exit 1; }
echo "PASS"
