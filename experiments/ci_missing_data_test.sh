#!/usr/bin/env bash
# In CI (ES_CI=1) a figure test whose data set is missing must FAIL; outside
# CI it skips with the reason. Runs fig7_mnist_lr_schedule_test's binary with
# a data directory that does not exist, both ways.
#   usage: ci_missing_data_test.sh <figure test binary> <figure binary>
set -uo pipefail
test_bin="$1"
fig_bin="$2"
args=(--binary="$fig_bin" --tolerance=onednn --data=mnist)
log="${TEST_TMPDIR:-/tmp}/ci_missing_data.log"

ES_CI=1 ES_SINGLE_DATA_DIR=/nonexistent/data "$test_bin" "${args[@]}" >"$log" 2>&1
rc=$?
if [[ $rc -eq 0 ]]; then
  echo "FAIL: with ES_CI=1 and no MNIST the figure test passed:"; cat "$log"; exit 1
fi
grep -q "data missing in CI (ES_CI=1): mnist missing" "$log" || { echo "FAIL: no reason given:"; cat "$log"; exit 1; }

env -u ES_CI ES_SINGLE_DATA_DIR=/nonexistent/data "$test_bin" "${args[@]}" >"$log" 2>&1
rc=$?
if [[ $rc -ne 0 ]]; then
  echo "FAIL: outside CI a missing data set must skip, got exit $rc:"; cat "$log"; exit 1
fi
grep -q "SKIPPED" "$log" || { echo "FAIL: outside CI the tests did not skip:"; cat "$log"; exit 1; }
echo "PASS: missing data fails under ES_CI=1 and skips otherwise"
