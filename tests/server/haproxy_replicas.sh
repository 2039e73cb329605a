#!/usr/bin/env bash
# Two floe-serve replicas behind HAProxy (Debian's haproxy) on loopback, configured by the
# shipped samples/server/deploy/haproxy.cfg (only its ports changed): 8 sessions (X-Session-Id)
# stream 3 rounds of greedy completions each through the proxy, concurrently. Every stream must
# equal `floe generate --temp 0` of its prompt, every session's requests must reach one replica
# (the proxy's X-Floe-Replica header), both replicas must serve some session, and each replica's
# /metrics must count exactly the requests the header gave it. The checks are in
# haproxy_replicas.mjs.
# Usage: haproxy_replicas.sh FLOE_SERVE FLOE_CLI DATA_DIR HAPROXY_CFG
set -euo pipefail
source "$(dirname "$0")/../common/skip.sh"
serve=$1 floe=$2 data=$3 cfg=$4
here=$(cd "$(dirname "$0")" && pwd)
command -v haproxy >/dev/null || floe_skip haproxy "haproxy is not installed (apt-get install haproxy)"
source "$here/server_lib.sh"
require_tools node curl
server_test_init
m=(-m "$data/models/llama2c/stories260K.bin" -z "$data/models/llama2c/tok512.bin")
prompts=("Once upon a time" "The cat" "Tom had a big red ball" "Lily wanted to" "One day, a little bird"
         "The sun was" "Ben and Mia went to the park" "There was a dog")
{ echo "{\"completions\": "; completions_json 24 "${m[@]}"; echo "}"; } >"$tmp/expected.json"

start_server "$tmp/replica1.log" "${m[@]}" --parallel 4
replica1=$server_url
extra_pids+=("$server_pid")
start_server "$tmp/replica2.log" "${m[@]}" --parallel 4
replica2=$server_url
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1",
                  () => { console.log(s.address().port); s.close(); })')
sed -e "s/127.0.0.1:8080/127.0.0.1:$port/" -e "s|127.0.0.1:8081|${replica1#http://}|" \
    -e "s|127.0.0.1:8082|${replica2#http://}|" "$cfg" >"$tmp/haproxy.cfg"
haproxy -c -q -f "$tmp/haproxy.cfg"
haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 &
haproxy_pid=$!
extra_pids+=("$haproxy_pid")
proxy=http://127.0.0.1:$port
for _ in $(seq 1 100); do curl -sf "$proxy/health" >/dev/null && break; sleep 0.1; done
curl -sf "$proxy/health" >/dev/null
node "$here/haproxy_replicas.mjs" "$proxy" "$replica1" "$replica2" "$tmp/expected.json"
kill -TERM "$haproxy_pid"
wait "$haproxy_pid" || true  # haproxy exits nonzero on a hard stop; only the replicas' exits count
stop_server
server_pid=${extra_pids[0]}
stop_server
server_pid=
echo "haproxy replicas test passed"
