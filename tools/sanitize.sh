#!/usr/bin/env bash
# Release check: builds and runs the tests once more under AddressSanitizer
# and UndefinedBehaviorSanitizer (--config=asan, .bazelrc). Not part of
# .ci/run (a second full build takes ~30 min on 2 cores); run it before a
# release and whenever memory or integer handling changes:
#
#   bash tools/sanitize.sh                 # every test
#   bash tools/sanitize.sh //inner/data/...  # a subset
#
# What it cannot see: code inside uninstrumented libraries (oneDNN, MuJoCo,
# zlib, Abseil from Debian). Benchmark smoke tests are excluded (timing
# under ASan is meaningless), as is the qemu portable-bits test (it runs
# the normal build's binaries on emulated CPUs). Exits non-zero on any
# sanitizer report or test failure and prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(//... -//experiments:portable_bits_test)
  while read -r t; do targets+=("-$t"); done < <(
    bazel query 'attr(name, "benchmark_smoke_test$", tests(//...))' 2>/dev/null)
fi
log="$(mktemp)"
bazel test --config=asan --test_timeout=300,1200,3600,3600 -- "${targets[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log" || true)
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY|FAILED TO BUILD)' "$log" || true)
if grep -qE "ERROR: AddressSanitizer|runtime error:" "$log"; then
  echo "sanitizer reports found (see above)"
  rc=1
fi
echo "${passed} passed, ${failed} failed"
[[ $rc -eq 0 && $failed -eq 0 ]]
