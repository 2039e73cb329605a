#!/usr/bin/env bash
# The real CUDA module (built with -DFLOE_CUDA=ON): it is a floe backend that dlopen loads on
# any machine. With a GPU, `floe parity ops` must pass every op; without one (or without the
# driver) it must exit 1 saying so, and this test prints that reason and passes.
# Usage: cuda_module_test.sh FLOE LIBFLOE_CUDA
set -uo pipefail
floe=$1 module=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$floe" parity ops --backend "$module" --no-cpu --failures-only >"$out" 2>&1
rc=$?
cat "$out"
if [ $rc -eq 0 ]; then
  grep -q '^backend: cuda' "$out" || { echo "no cuda backend line"; exit 1; }
  echo "CUDA parity: every op passed on the GPU"
  exit 0
fi
if grep -q 'cuda backend (.*) has no usable device' "$out"; then
  echo "GPU runs skipped: $(grep -o 'has no usable device: .*' "$out")"
  exit 0
fi
echo "FAILED: floe parity ops with the CUDA module exited $rc"
exit 1
