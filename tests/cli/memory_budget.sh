#!/usr/bin/env bash
# --memory-budget on the CLI: a prompt whose KV cache passes the budget fails with a message
# naming the bytes and the budget (exit 1); a shorter one passes; a bad value is a usage error.
# Usage: memory_budget.sh FLOE_BINARY DATA_DIR
set -euo pipefail
floe=$1
data=$2
model=(-m "$data/models/llama2c/stories-long-2k.bin" -z "$data/models/llama2c/tok512.bin")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 3000 "$data/corpora/war-and-peace.txt" | tail -c 2000 > "$tmp/long.txt"
# About 1970 tokens x 2048 bytes of keys and values: over 1 MiB.
if "$floe" logits "${model[@]}" -p "$(cat "$tmp/long.txt")" --memory-budget 1M -o "$tmp/a.f32" \
  2> "$tmp/err.txt"; then
  echo "an eval past the budget succeeded" >&2
  exit 1
fi
grep -q "over the session's memory budget of 1048576 bytes" "$tmp/err.txt"
"$floe" logits "${model[@]}" -p "$(head -c 300 "$tmp/long.txt")" --memory-budget 1m \
  -o "$tmp/b.f32" 2> /dev/null
set +e
"$floe" logits "${model[@]}" -p x --memory-budget 12Q -o "$tmp/c.f32" 2> /dev/null
rc=$?
set -e
[[ $rc == 2 ]] || { echo "a bad --memory-budget exited $rc, expected 2" >&2; exit 1; }
echo "memory budget CLI checks passed"
