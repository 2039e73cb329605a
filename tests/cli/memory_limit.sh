#!/usr/bin/env bash
# Under a virtual-memory limit (ulimit -v), inputs that ask for huge allocations end with a
# clear error and exit status 1, never a signal (issue 27): 1M token ids for a 512-token
# context with all logits (their buffer was sized before the context check: SIGABRT), and a
# random 1b model whose weights do not fit (std::bad_alloc escaped: SIGABRT).
# Usage: memory_limit.sh FLOE_CLI DATA_DIR. Not for sanitizer builds (they reserve terabytes).
set -uo pipefail
floe=$1 data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$data/models/llama2c/stories260K.bin tok=$data/models/llama2c/tok512.bin
test -f "$model" || { echo "test data missing: $model"; exit 1; }
yes 1 | head -n 1000000 >"$tmp/ids.txt"

expect_clean_error() {  # LIMIT_KB TEXT command...: exit 1 with TEXT on stderr
  local limit=$1 text=$2
  shift 2
  (ulimit -v "$limit"; "$@") >/dev/null 2>"$tmp/err.txt"
  local rc=$?
  if [[ $rc -ne 1 ]] || ! grep -q "$text" "$tmp/err.txt"; then
    echo "FAIL: '$*' under ulimit -v $limit: exit $rc (want 1 and '$text')"
    cat "$tmp/err.txt"
    exit 1
  fi
  echo "ok: $(head -1 "$tmp/err.txt")"
}
expect_clean_error 1500000 "context full" \
  "$floe" logits -m "$model" -z "$tok" --tokens "$tmp/ids.txt" -o "$tmp/out.f32"
expect_clean_error 800000 "memory" \
  "$floe" make-model --arch llama --preset 1b --type f32 -o "$tmp/big.gguf"
test ! -e "$tmp/big.gguf" || { echo "FAIL: a partial model file was left"; exit 1; }
echo "memory limits: clean errors"
