#!/usr/bin/env bash
# floe chat answers piped user lines with the stories260K model (ChatML: the file has no template),
# reuses the evaluated conversation on the second turn, obeys /reset and /quit, exits 0.
# Usage: chat.sh FLOE_BINARY DATA_DIR
set -euo pipefail
floe=$1 data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$data/models/llama2c/stories260K.bin tok=$data/models/llama2c/tok512.bin
printf 'Once upon a time\nTell me more\n/reset\nHello\n/quit\nnever read\n' |
  "$floe" chat -m "$model" -z "$tok" --temp 0 -n 24 --stats >"$tmp/out" 2>"$tmp/err"
cat "$tmp/err" >&2
test -s "$tmp/out"
test "$(grep -c '^\[turn: ' "$tmp/err")" -eq 3  # three replies; nothing after /quit
sed -n 1p "$tmp/err" | grep -q ', 0 reused;'     # the first turn evaluates everything
sed -n 2p "$tmp/err" | grep -vq ', 0 reused;'    # the second only the new suffix
sed -n 3p "$tmp/err" | grep -q ', 0 reused;'     # /reset started over
# end of input ends the chat too
printf 'Hi\n' | "$floe" chat -m "$model" -z "$tok" --temp 0 -n 8 >"$tmp/out2"
test -s "$tmp/out2"
