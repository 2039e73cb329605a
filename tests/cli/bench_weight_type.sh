#!/usr/bin/env bash
# floe bench names the weight type of any architecture (the type of the model's largest weight
# family), here Mamba: the official reference checkpoint (float32 by its README), the same after
# `floe convert` to GGUF, and after `floe quantize --type q8_0`; and a llama2.c file (float32).
# Usage: bench_weight_type.sh FLOE_BINARY DATA_DIR
set -euo pipefail
floe=$1
data=$2
ref="$data/reference/mamba1/model.safetensors"
[[ -f $ref ]] || { echo "test data missing: $ref" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bench_type() {  # MODEL -> the "type" field of floe bench --json
  "$floe" bench -m "$1" -p 4 -n 0 -r 1 -t 1 --json | sed -n 's/.*"type":"\([^"]*\)".*/\1/p'
}
expect() {  # MODEL TYPE
  local got
  got=$(bench_type "$1")
  [[ $got == "$2" ]] || { echo "floe bench -m $1: type '$got', expected '$2'" >&2; exit 1; }
  # The table's header line carries it too.
  "$floe" bench -m "$1" -p 4 -n 0 -r 1 -t 1 | head -1 | grep -q "| $2 |" ||
    { echo "floe bench -m $1: table header lacks '| $2 |'" >&2; exit 1; }
}
expect "$ref" f32
expect "$data/reference/mamba1/model.pth" f32
"$floe" convert "$ref" -o "$tmp/mamba.gguf" > /dev/null
expect "$tmp/mamba.gguf" f32
"$floe" quantize "$tmp/mamba.gguf" "$tmp/mamba-q8_0.gguf" --type q8_0 > /dev/null
expect "$tmp/mamba-q8_0.gguf" q8_0
expect "$data/models/llama2c/stories260K.bin" f32
echo "bench weight type checks passed"
