#!/usr/bin/env bash
# floe-serve end to end on stories260K: OpenAI completions and chat, streamed and not, equal to
# `floe generate --temp 0` (an independent path through the CLI); 8 concurrent streams each
# equal to its lone greedy text (batched decode is bit-exact); error replies; queue full (429);
# API key; client disconnect; SIGTERM drains and exits 0. The HTTP checks are in
# server_test.mjs (Node's built-in fetch).
# With DEPS_CHECK "static": floe-serve needs no shared library beyond libc, libm, libstdc++ and
# libgcc (package_test.sh's check of the embedding samples).
# Usage: server_test.sh FLOE_SERVE FLOE_CLI DATA_DIR [static|none]
set -euo pipefail
source "$(dirname "$0")/../common/skip.sh"
serve=$1 floe=$2 data=$3 deps_check=${4:-none}
if [[ $deps_check == static ]]; then
  for lib in $(readelf -d "$serve" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
    case "$lib" in
      libc.so.6|libm.so.6|libstdc++.so.6|libgcc_s.so.1|ld-linux-x86-64.so.2) ;;
      *) echo "$serve needs $lib"; exit 1 ;;
    esac
  done
fi
here=$(cd "$(dirname "$0")" && pwd)
source "$here/server_lib.sh"
require_tools node curl
server_test_init
model=$data/models/llama2c/stories260K.bin tok=$data/models/llama2c/tok512.bin
m=(-m "$model" -z "$tok")

# Expected greedy texts, from the CLI.
prompts=("Once upon a time" "The cat" "Tom had a big red ball" "Lily wanted to" "One day, a little bird"
         "The sun was" "Ben and Mia went to the park" "There was a dog")
{
  echo "{\"completions\": "
  completions_json 48 "${m[@]}"
  echo ","
  chatml=$'<|im_start|>user\nTell me a story<|im_end|>\n<|im_start|>assistant\n'
  greedy_text "$chatml" 40 "${m[@]}" >"$tmp/greedy.txt"
  echo "\"chat\": {\"content\": \"Tell me a story\", \"text\": $(json_file "$tmp/greedy.txt")},"
  greedy_text "Once upon a time, there was" 24 "${m[@]}" >"$tmp/greedy.txt"
  echo "\"cached\": {\"prompt\": \"Once upon a time, there was\", \"text\": $(json_file "$tmp/greedy.txt")}}"
} >"$tmp/expected.json"

start_server "$tmp/main.log" "${m[@]}" --parallel 8 --queue 4 --max-body 65536
node "$here/server_test.mjs" main "$server_url" "$tmp/expected.json"
stop_server
grep -q "SIGTERM: draining" "$tmp/main.log"

# Queue full and API key: one session, one queue place.
start_server "$tmp/small.log" "${m[@]}" --parallel 1 --queue 1 --api-key sekret
node "$here/server_test.mjs" small "$server_url" "$tmp/expected.json"
# SIGTERM while a stream runs: the stream still ends with [DONE], then exit 0.
curl -sN -H "Authorization: Bearer sekret" "$server_url/v1/completions" \
  -d '{"prompt": "Once upon a time", "max_tokens": 400, "stream": true, "temperature": 0}' \
  >"$tmp/drain.txt" &
curl_pid=$!
for _ in $(seq 1 400); do [[ -s $tmp/drain.txt ]] && break; sleep 0.05; done  # <= 20 s under load
stop_server
wait "$curl_pid"
tail -c 200 "$tmp/drain.txt" | grep -q "data: \[DONE\]" || { echo "stream cut by SIGTERM"; tail -c 400 "$tmp/drain.txt"; exit 1; }
server_pid=

# `floe serve` runs the same server.
serve_cmd=("$floe" serve)
start_server "$tmp/verb.log" "${m[@]}"
test "$(curl -sf "$server_url/v1/models" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).data[0].id))')" = stories260K.bin
stop_server
server_pid=
echo "server tests passed"
