#!/usr/bin/env bash
# floe quantize from the command line: the llama.cpp peer data's f32 source quantized with
# `--type Q4_K_M` (any case) is llama-quantize's own Q4_K_M file, tensor for tensor (types and
# bytes, compared by bench/scripts/gguf_tensor_bytes.sh); one thread and two threads write the
# same file; an unknown type and a missing input are clear errors.
# Usage: quantize.sh FLOE_BINARY DATA_DIR SOURCE_DIR
set -euo pipefail
floe=$1
data=$2/peer/llamacpp-quant
src=$3
[[ -f $data/source-f32.gguf && -f $data/Q4_K_M.gguf ]] ||
  { echo "test data missing: $data" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$floe" quantize "$data/source-f32.gguf" "$tmp/one.gguf" --type Q4_K_M -t 1 --no-progress > /dev/null
"$floe" quantize "$data/source-f32.gguf" "$tmp/two.gguf" --type q4_k_m -t 2 > /dev/null
cmp "$tmp/one.gguf" "$tmp/two.gguf" || { echo "1 and 2 threads wrote different files" >&2; exit 1; }
report=$(bash "$src/bench/scripts/gguf_tensor_bytes.sh" "$floe" "$tmp/two.gguf" "$data/Q4_K_M.gguf")
equal=$(grep -c 'bytes equal' <<< "$report" || true)
[[ $equal == 21 ]] || { echo "expected 21 equal tensors, got $equal:" >&2; echo "$report" >&2; exit 1; }
"$floe" inspect "$tmp/two.gguf" | grep -q 'general.file_type  uint32  15' ||
  { echo "general.file_type is not 15 (Q4_K_M)" >&2; exit 1; }
if "$floe" quantize "$data/source-f32.gguf" "$tmp/bad.gguf" --type q3_K_L 2> "$tmp/err"; then
  echo "an unknown type was accepted" >&2; exit 1
fi
grep -q "unknown type 'q3_K_L'" "$tmp/err" && grep -q "q4_K_M" "$tmp/err" ||
  { echo "unclear error for an unknown type:" >&2; cat "$tmp/err" >&2; exit 1; }
[[ ! -e $tmp/bad.gguf ]] || { echo "a refused quantize left a file" >&2; exit 1; }
if "$floe" quantize "$tmp/missing.gguf" "$tmp/out.gguf" --type q8_0 2> /dev/null; then
  echo "a missing input was accepted" >&2; exit 1
fi
echo "quantize CLI checks passed"
