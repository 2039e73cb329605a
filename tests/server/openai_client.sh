#!/usr/bin/env bash
# The official `openai` npm package (installed at test time into NPM_DIR, a folder of the build
# tree) drives floe-serve on stories260K and on tiny RWKV-6. Skipped (exit 77, with the reason)
# when node or npm is missing or the npm registry cannot be reached.
# Usage: openai_client.sh FLOE_SERVE FLOE_CLI DATA_DIR NPM_DIR
set -euo pipefail
serve=$1 floe=$2 data=$3 npm_dir=$(realpath -m "$4")
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null || { echo "SKIP: node is not installed"; exit 77; }
command -v npm >/dev/null || { echo "SKIP: npm is not installed"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
if [[ ! -f $npm_dir/node_modules/openai/package.json ]]; then
  mkdir -p "$npm_dir"
  [[ -f $npm_dir/package.json ]] || echo '{"private": true}' >"$npm_dir/package.json"
  if ! (cd "$npm_dir" && timeout 120 npm install openai@4 --no-audit --no-fund --loglevel=error); then
    echo "SKIP: npm install openai failed (is the npm registry reachable?)"
    exit 77
  fi
fi
source "$here/server_lib.sh"
serve_cmd=("$serve")
tmp=$(mktemp -d)
server_pid=
trap 'rc=$?; [[ -n $server_pid ]] && kill -9 "$server_pid" 2>/dev/null
      [[ $rc -ne 0 ]] && tail -n 20 "$tmp"/*.log; rm -rf "$tmp"' EXIT
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
