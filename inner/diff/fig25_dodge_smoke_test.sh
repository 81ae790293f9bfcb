#!/usr/bin/env bash
# Smoke test of the Fig. 25 driver: a --quick run must succeed, write the
# tidy CSV with the agreed header and rows for every method, and the sidecar.
#   fig25_dodge_smoke_test.sh <fig25_dodge_main binary>
set -euo pipefail
out="${TEST_TMPDIR:-$(mktemp -d)}/fig25"
"$1" --quick --out_dir="$out" > "$out.stdout" 2> "$out.stderr" || {
  cat "$out.stderr"; exit 1; }
csv="$out/fig25_dodge.csv"
header="$(head -n 1 "$csv")"
if [[ "$header" != "method,num_particles,seed,iteration,meta_loss,theta_0,theta_1" ]]; then
  echo "unexpected CSV header: $header"; exit 1
fi
for m in rtrl dodge es_single_sigma0.0001 es_single_sigma1; do
  grep -q "^$m," "$csv" || { echo "no rows for $m in $csv"; exit 1; }
done
if grep -q ",nan," "$csv"; then echo "non-finite meta-loss in $csv"; exit 1; fi
test -s "$out/fig25_dodge.json" || { echo "missing sidecar"; exit 1; }
echo "ok: $(($(wc -l < "$csv") - 1)) rows"
