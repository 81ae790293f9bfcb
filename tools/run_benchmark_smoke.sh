#!/usr/bin/env bash
# Runs a Google Benchmark binary once per benchmark with a tiny minimum time,
# so benchmarks are compiled and exercised by `bazel test //...` (style.md).
#   run_benchmark_smoke.sh <benchmark binary> [extra flags]
set -euo pipefail
bin="$1"; shift
"$bin" --benchmark_min_time=0.001 "$@" > "${TEST_TMPDIR:-/tmp}/bench.txt" 2>&1 || {
  cat "${TEST_TMPDIR:-/tmp}/bench.txt"; echo "benchmark binary failed: $bin"; exit 1; }
if grep -q "ERROR OCCURRED" "${TEST_TMPDIR:-/tmp}/bench.txt"; then
  cat "${TEST_TMPDIR:-/tmp}/bench.txt"; echo "a benchmark reported an error"; exit 1
fi
echo "ok: $(grep -c '^BM_' "${TEST_TMPDIR:-/tmp}/bench.txt") benchmarks ran"
