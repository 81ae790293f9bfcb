#!/usr/bin/env bash
# Portable bits: runs figure binaries' --quick mode on EMULATED CPUs of the
# other vendor and generation (QEMU user-mode, TCG: Intel Haswell and AMD
# EPYC-Rome, both AVX2 + FMA and no AVX-512) and requires the CSV to be
# byte-identical to the committed golden, which was produced natively. The
# default build targets x86-64-v3 without floating-point contraction and
# writes round-trip decimals, so our double-precision figures must not
# depend on the CPU they run on (docs/reproducibility.md). A CPU-dependent
# code path (-march=native, a cpuid dispatch, an FMA contracted on one side
# only) makes this test fail. TCG implements IEEE arithmetic in software, so
# the emulated run is a faithful "other x86-64 machine".
#
# Usage (Bazel passes these):
#   portable_bits_test.sh CPU:BINARY:GOLDEN[:data[:FLAG]] ...
# (":data": the binary reads $ES_SINGLE_DATA_DIR; skipped when it is unset,
# a failure under ES_CI=1. FLAG: one extra flag for the --quick run, e.g.
# CPU:BINARY:GOLDEN::--precision=float32.)
# Needs qemu-x86_64 (Debian qemu-user, installed by tools/setup.sh).
set -uo pipefail
if ! command -v qemu-x86_64 >/dev/null 2>&1; then
  echo "FAIL: qemu-x86_64 not found; install it with tools/setup.sh (Debian package qemu-user)"
  exit 1
fi
tmp="${TEST_TMPDIR:-$(mktemp -d)}"
status=0
for spec in "$@"; do
  IFS=: read -r cpu binary golden needs flag <<<"$spec"
  extra=()
  [[ -n "${flag:-}" ]] && extra=("$flag")
  name="$(basename "$binary")"
  if [[ "${needs:-}" == "data" && -z "${ES_SINGLE_DATA_DIR:-}" ]]; then
    if [[ -n "${ES_CI:-}" ]]; then
      echo "FAIL: $name needs \$ES_SINGLE_DATA_DIR (unset under ES_CI)"; status=1
    else
      echo "skip $name: needs \$ES_SINGLE_DATA_DIR (unset)"
    fi
    continue
  fi
  out="$tmp/$cpu/$name${flag:+_${flag//[^A-Za-z0-9]/_}}"
  mkdir -p "$out"
  start=$(date +%s)
  if ! qemu-x86_64 -cpu "$cpu" "$binary" --quick --progress=false \
        --out_dir="$out" "${extra[@]}" >"$out.log" 2>&1; then
    echo "FAIL: $name under -cpu $cpu exited non-zero; log:"; tail -20 "$out.log"
    status=1; continue
  fi
  if cmp -s "$out/$name.csv" "$golden"; then
    echo "ok   $name on emulated $cpu: CSV byte-identical to $golden ($(( $(date +%s) - start )) s)"
  else
    echo "FAIL: $name on emulated $cpu differs from $golden:"
    cmp "$out/$name.csv" "$golden" | head -1
    diff "$out/$name.csv" "$golden" | head -6
    echo "reproduce: qemu-x86_64 -cpu $cpu bazel-bin/experiments/$name --quick ${extra[*]} --out_dir=/tmp/$name"
    status=1
  fi
done
exit $status
