#!/usr/bin/env bash
# The command: floe logits on the official checkpoint writes rows L_B-1..T-1 and says
# so; its first 60 rows match logits.f32 and step_logits.f32 within 1e-4 (floe compare), from
# model.safetensors and after floe convert to GGUF (byte-identical rows).
set -euo pipefail
floe=$1
ref=$2/reference/block_transformer
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$floe" logits -m "$ref/model.safetensors" --tokens "$ref/tokens.txt" -o "$tmp/out.f32" \
  2> "$tmp/err.txt"
grep -q "rows are positions 3..63" "$tmp/err.txt"
grep -q "wrote 61 x 512 logits" "$tmp/err.txt"
head -c $((60 * 512 * 4)) "$tmp/out.f32" > "$tmp/first60.f32"
"$floe" compare "$tmp/first60.f32" "$ref/logits.f32" --vocab 512 --max-abs 1e-4 --min-top1 1
"$floe" compare "$tmp/first60.f32" "$ref/step_logits.f32" --vocab 512 --max-abs 1e-4 --min-top1 1
"$floe" convert "$ref/model.safetensors" -o "$tmp/bt.gguf" > /dev/null
"$floe" logits -m "$tmp/bt.gguf" --tokens "$ref/tokens.txt" -o "$tmp/gguf.f32" 2> /dev/null
cmp "$tmp/out.f32" "$tmp/gguf.f32"
echo "block-transformer CLI parity: ok"
