#!/usr/bin/env bash
# Tests of omp_wait_policy (re-execution with GOMP_SPINCOUNT set) through
# omp_wait_policy_probe: the variable is set when nothing is chosen, a user's
# choice is kept, one thread / the opt-out skip it, and the arguments survive
# the re-execution unchanged.
set -euo pipefail
PROBE="$1"
fail() { echo "FAIL: $*" >&2; exit 1; }
clean=(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u OMP_NUM_THREADS
       -u ES_SINGLE_KEEP_OMP_WAIT_POLICY -u ES_SINGLE_OMP_WAIT_POLICY_SET)

out="$("${clean[@]}" "$PROBE" "a b" "" --x=1)"
# (nproc itself honours OMP_NUM_THREADS, which .bazelrc sets for tests.)
if [[ "$(env -u OMP_NUM_THREADS nproc)" -gt 1 ]]; then
  grep -qx "policy: GOMP_SPINCOUNT=1000 (set by omp_wait_policy)" <<<"$out" \
    || fail "nothing set: expected GOMP_SPINCOUNT=1000, got: $out"
else
  grep -qx "policy: libgomp default" <<<"$out" || fail "one CPU: got: $out"
fi
[[ "$(grep '^arg:' <<<"$out")" == "$(printf 'arg: a b\narg: \narg: --x=1')" ]] \
  || fail "arguments changed: $out"

out="$("${clean[@]}" OMP_WAIT_POLICY=PASSIVE "$PROBE")"
grep -qx "policy: OMP_WAIT_POLICY=PASSIVE (from the environment)" <<<"$out" \
  || fail "user's OMP_WAIT_POLICY not kept: $out"
out="$("${clean[@]}" GOMP_SPINCOUNT=5 "$PROBE")"
grep -qx "policy: GOMP_SPINCOUNT=5 (from the environment)" <<<"$out" \
  || fail "user's GOMP_SPINCOUNT not kept: $out"
out="$("${clean[@]}" OMP_NUM_THREADS=1 "$PROBE")"
grep -qx "policy: libgomp default" <<<"$out" || fail "OMP_NUM_THREADS=1: $out"
out="$("${clean[@]}" ES_SINGLE_KEEP_OMP_WAIT_POLICY=1 "$PROBE")"
grep -qx "policy: libgomp default" <<<"$out" || fail "opt-out: $out"
echo "PASS"
