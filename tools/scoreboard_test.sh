#!/usr/bin/env bash
# Checks that tools/scoreboard.py --check notices what it is meant to notice,
# on a small made-up tree (not the real one): a table that differs from the
# committed run, a PNG older than its data, a PNG changed by hand, a PNG the
# manifest does not list, and a document showing a PNG that does not exist.
# Each case must turn a passing check into a failing one.
set -uo pipefail
sb="$(readlink -f "$1")"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/results/figx/scaled" "$root/docs/figures"
cat > "$root/results/figx/scaled/figx.csv" <<'CSV'
method,num_particles,seed,iteration,meta_loss,theta_0
es_single,2,0,0,10,-1
es_single,2,0,10,4,-0.5
CSV
cat > "$root/results/figx/scaled/figx.json" <<'JSON'
{"preset": "scaled", "git_commit": "0123456789abcdef", "wall_seconds": 1.5,
 "command": "bazel-bin/experiments/figx --scaled --out_dir=results/figx/scaled",
 "methods": {"es_single": {"num_particles": 2, "final_meta_loss": 4,
   "final_meta_loss_per_seed": [4], "seconds_per_estimate": 0.01}}}
JSON
printf 'not really a PNG\n' > "$root/docs/figures/figx.png"
in_sha=$(sha256sum "$root/results/figx/scaled/figx.csv" | cut -d' ' -f1)
png_sha=$(sha256sum "$root/docs/figures/figx.png" | cut -d' ' -f1)
cat > "$root/docs/figures/figures.json" <<JSON
{"run_plots": {}, "figures": [{"png": "docs/figures/figx.png", "plot": ["tools/none.py"],
  "inputs": {"results/figx/scaled/figx.csv": "$in_sha"}, "png_sha256": "$png_sha",
  "drawn_with": ["tools/none.py"]}]}
JSON
printf '# R\n\n<!-- scoreboard:trajectory figx/scaled 5 -->\n<!-- /scoreboard -->\n\n![x](figures/figx.png)\n' \
  > "$root/docs/results.md"
printf '# README\n' > "$root/README.md"
/usr/bin/python3 "$sb" --root "$root" > /dev/null || { echo "FAIL: could not render the tables"; exit 1; }
status=0
expect() {  # expect <0|1> <what>
  /usr/bin/python3 "$sb" --root "$root" --check > "$root/out.txt" 2>&1
  local rc=$?
  if [[ ( "$1" == 0 && $rc -eq 0 ) || ( "$1" == 1 && $rc -ne 0 ) ]]; then
    echo "ok   $2"
  else
    echo "FAIL $2 (exit $rc):"; cat "$root/out.txt"; status=1
  fi
}
save() { cp -a "$root/$1" "$root/$1.orig"; }
restore() { mv "$root/$1.orig" "$root/$1"; }
expect 0 "a current tree passes"
grep -q '| es_single | 2 | 0 | (-0.5) | 4 | 4 | 4 / 0 / 4 / 4 |' "$root/docs/results.md" \
  || { echo "FAIL the trajectory table is not what the CSV gives:"; cat "$root/docs/results.md"; status=1; }
save results/figx/scaled/figx.csv
# A row the table does not use (before iteration 5): only the PNG is stale.
sed -i 's/^es_single,2,0,0,10,/es_single,2,0,0,11,/' "$root/results/figx/scaled/figx.csv"
expect 1 "data changed after the PNG was drawn"
grep -q "figx.png is older than its data" "$root/out.txt" || { echo "FAIL no staleness message"; status=1; }
grep -q "tables differ" "$root/out.txt" && { echo "FAIL the tables should still match"; status=1; }
restore results/figx/scaled/figx.csv
save results/figx/scaled/figx.csv
sed -i 's/^es_single,2,0,10,4,/es_single,2,0,10,3,/' "$root/results/figx/scaled/figx.csv"
expect 1 "data changed so that the table differs"
restore results/figx/scaled/figx.csv
save docs/results.md
sed -i 's/| 4 | 4 | 4 \/ 0/| 5 | 4 | 4 \/ 0/' "$root/docs/results.md"
expect 1 "a table edited by hand"
restore docs/results.md
save docs/figures/figx.png
printf 'edited\n' >> "$root/docs/figures/figx.png"
expect 1 "a PNG changed by hand"
restore docs/figures/figx.png
save docs/figures/figures.json
sed -i 's|"plot": \["tools/none.py"\]|"plot": ["tools/none.py", "--suffix", "_b"]|' "$root/docs/figures/figures.json"
expect 1 "a plot command changed after the PNG was drawn"
restore docs/figures/figures.json
printf 'x\n' > "$root/docs/figures/other.png"
expect 1 "a PNG the manifest does not list"
rm "$root/docs/figures/other.png"
save docs/results.md
printf '\n![y](figures/missing.png)\n' >> "$root/docs/results.md"
expect 1 "a document showing a PNG that is not a committed figure"
restore docs/results.md
expect 0 "the restored tree passes again"
exit $status
