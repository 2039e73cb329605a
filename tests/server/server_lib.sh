# Helpers for the floe-serve script tests (sourced). start_server LOG ARGS... starts
# ${serve_cmd[@]} (floe-serve, or floe serve) on a free port (--port 0), waits for its
# "on http://HOST:PORT/" line and for /health, and sets $server_pid and $server_url.

# require_tools TOOL...: skips the test (tests/common/skip.sh, sourced before) unless every TOOL
# is installed.
require_tools() {
  local t
  for t in "$@"; do command -v "$t" >/dev/null || floe_skip "$t" "$t is not installed"; done
}

# npm_package DIR NAME SPEC: npm-installs SPEC (NAME@VERSION) into DIR unless DIR/node_modules/NAME
# is there; skips (npm-registry) when npm cannot install it.
npm_package() {
  local dir=$1 name=$2 spec=$3
  [[ -f $dir/node_modules/$name/package.json ]] && return 0
  mkdir -p "$dir"
  [[ -f $dir/package.json ]] || echo '{"private": true}' >"$dir/package.json"
  (cd "$dir" && timeout 120 npm install "$spec" --no-audit --no-fund --loglevel=error) ||
    floe_skip npm-registry "npm install $name failed (is the npm registry reachable?)"
}

# server_test_init: serve_cmd=($serve), a scratch folder $tmp (removed at exit), no server yet.
# At exit $server_pid and every process in $extra_pids are killed; on a failure the failing line
# is printed and the tails of $tmp/*.log shown. (set -e holds in traps too: every command there must succeed, or the logs
# would not be shown.)
server_test_init() {
  serve_cmd=("$serve")
  tmp=$(mktemp -d)
  server_pid=
  extra_pids=()
  trap 'echo "failed (exit $?) at line $LINENO: $BASH_COMMAND"' ERR
  trap 'rc=$?; for p in $server_pid "${extra_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
        [[ $rc -ne 0 ]] && tail -n 20 "$tmp"/*.log || true; rm -rf "$tmp"' EXIT
}
start_server() {
  local log=$1
  shift
  : >"$log"  # exists before the server opens it: the polling below reads it at once
  "${serve_cmd[@]}" --port 0 "$@" 2>>"$log" &
  server_pid=$!
  server_url=
  for _ in $(seq 1 200); do
    server_url=$(sed -n 's|.* on \(http://[0-9.]*:[0-9]*\)/ .*|\1|p' "$log" | head -1)
    [[ -n $server_url ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$log"; echo "floe-serve exited early"; return 1; }
    sleep 0.1
  done
  [[ -n $server_url ]] || { cat "$log"; echo "floe-serve did not start"; return 1; }
  for _ in $(seq 1 100); do
    curl -sf "$server_url/health" >/dev/null && return 0
    sleep 0.1
  done
  echo "floe-serve: /health never answered"
  return 1
}

# stop_server: SIGTERM, then the exit status must be 0.
stop_server() {
  kill -TERM "$server_pid"
  local rc=0
  wait "$server_pid" || rc=$?
  [[ $rc -eq 0 ]] || { echo "floe-serve exited $rc after SIGTERM"; return 1; }
}

# greedy_text PROMPT N ARGS...: what `floe generate --temp 0` writes after the prompt (its
# trailing newline removed).
greedy_text() {
  local prompt=$1 n=$2
  shift 2
  "$floe" generate "$@" --temp 0 -n "$n" -p "$prompt" 2>/dev/null | head -c -1 | tail -c +$((${#prompt} + 1))
}

# json_file FILE: the file's text as a JSON string (NUL bytes survive, unlike in $(...)).
json_file() {
  node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(process.argv[1], "utf8")))' "$1"
}

# completions_json N ARGS...: a JSON array [{"prompt", "text"}] with, for every entry of the
# array $prompts, its greedy text of N tokens from the CLI (ARGS: the model flags).
completions_json() {
  local n=$1 i
  shift
  echo "["
  for i in "${!prompts[@]}"; do
    greedy_text "${prompts[$i]}" "$n" "$@" >"$tmp/greedy.txt"
    echo "$([[ $i -gt 0 ]] && echo ,){\"prompt\": \"${prompts[$i]}\", \"text\": $(json_file "$tmp/greedy.txt")}"
  done
  echo "]"
}
