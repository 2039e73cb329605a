#!/usr/bin/env bash
# `floe parity ops` with the CPU fake backend: the op list, a passing run (table + summary,
# exit 0), a perturbed op failing the run (exit 1), and clear errors (exit 1) for a missing
# module and for a machine without a GPU; an unknown --filter is a usage error (exit 2).
# Usage: parity_cli_test.sh FLOE FAKE_MODULE
set -uo pipefail
floe=$1 fake=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAILED: $*"; cat "$tmp/out" "$tmp/err" 2>/dev/null; exit 1; }

"$floe" parity ops --list >"$tmp/out" 2>"$tmp/err" || fail "--list exited $?"
[ "$(tail -n +2 "$tmp/out" | wc -l)" -eq 20 ] || fail "--list does not list 20 ops"
grep -q '^matmul_q4_K ' "$tmp/out" && grep -q '^selective_scan ' "$tmp/out" || fail "--list names"

"$floe" parity ops --backend "$fake" --filter rope >"$tmp/out" 2>"$tmp/err" || fail "clean run exited $?"
grep -q '^backend: fake-cpu' "$tmp/out" || fail "no backend line"
grep -q '^rope_neox .* fake-cpu .* OK$' "$tmp/out" || fail "no passing fake-cpu line"
grep -q '^rope_norm .* cpu:[A-Z0-9_]* .* OK$' "$tmp/out" || fail "no CPU target line"
grep -q '^parity ops: 2 ops, 8 cases, .* 0 failed: OK$' "$tmp/out" || fail "summary"

FLOE_FAKE_GPU_PERTURB=softmax "$floe" parity ops --backend "$fake" --filter softmax --no-cpu \
  >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] || fail "a perturbed softmax exited $rc, not 1"
grep -q '^softmax .* fake-cpu .* FAIL$' "$tmp/out" || fail "no FAIL line"
grep -q 'failed: FAIL$' "$tmp/out" || fail "summary does not say FAIL"

"$floe" parity ops --backend /nonexistent/libfloe_cuda.so >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] || fail "a missing module exited $rc, not 1"
grep -q 'no GPU backend module could be loaded (build it with -DFLOE_CUDA=ON' "$tmp/err" || fail "missing-module message"

FLOE_FAKE_GPU_NO_DEVICE=1 "$floe" parity ops --backend "$fake" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 1 ] || fail "no GPU exited $rc, not 1"
grep -q 'has no usable device: no CUDA-capable device' "$tmp/err" || fail "no-GPU message"

"$floe" parity ops --cpu-only --filter no_such_op >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 2 ] || fail "an unknown filter exited $rc, not 2"
echo "parity CLI checks passed"
