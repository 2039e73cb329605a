#!/usr/bin/env bash
# The official `openai` npm package (installed at test time into NPM_DIR, a folder of the build
# tree) drives floe-serve on stories260K and on tiny RWKV-6. When node or npm is missing or the
# npm registry cannot be reached it fails, unless FLOE_TEST_ALLOW_SKIP allows the skip
# (tests/common/skip.sh).
# Usage: openai_client.sh FLOE_SERVE FLOE_CLI DATA_DIR NPM_DIR
set -euo pipefail
source "$(dirname "$0")/../common/skip.sh"
serve=$1 floe=$2 data=$3 npm_dir=$(realpath -m "$4")
here=$(cd "$(dirname "$0")" && pwd)
source "$here/server_lib.sh"
require_tools node npm curl
npm_package "$npm_dir" openai openai@4
server_test_init
run() {  # run NAME MODEL_ARGS...: greedy text from the CLI, then the client against the server
  local name=$1
  shift
  greedy_text "Once upon a time" 24 "$@" >"$tmp/greedy.txt"
  echo "{\"prompt\": \"Once upon a time\", \"text\": $(json_file "$tmp/greedy.txt")}" >"$tmp/expected.json"
  start_server "$tmp/$name.log" "$@" --api-key sekret
  node "$here/openai_client.mjs" "$npm_dir" "$server_url" "$tmp/expected.json"
  stop_server
  server_pid=
}
run stories -m "$data/models/llama2c/stories260K.bin" -z "$data/models/llama2c/tok512.bin"
run rwkv6 -m "$data/models/rwkv/tiny-rwkv-6v0-1m-FP32.bin"
echo "openai client test passed"
