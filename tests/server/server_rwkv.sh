#!/usr/bin/env bash
# floe-serve on a recurrent model (tiny RWKV-6, byte vocabulary): completions streamed and not,
# and 4 concurrent streams, each equal to `floe generate --temp 0` of its prompt.
# Usage: server_rwkv.sh FLOE_SERVE FLOE_CLI DATA_DIR
set -euo pipefail
source "$(dirname "$0")/../common/skip.sh"
serve=$1 floe=$2 data=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/server_lib.sh"
require_tools node curl
server_test_init
m=(-m "$data/models/rwkv/tiny-rwkv-6v0-1m-FP32.bin")
prompts=("Once upon a time" "The cat" "In the" "Hello")
{ echo "{\"completions\": "; completions_json 40 "${m[@]}"; echo "}"; } >"$tmp/expected.json"
start_server "$tmp/rwkv.log" "${m[@]}" --parallel 4
node "$here/server_test.mjs" rwkv "$server_url" "$tmp/expected.json"
stop_server
server_pid=
echo "RWKV server test passed"
