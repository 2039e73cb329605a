#!/usr/bin/env bash
# The chat page at / in headless Chromium (Debian's `chromium`), driven by puppeteer-core
# (installed at test time into NPM_DIR, a folder of the build tree, as openai_client.sh does
# with the openai package): typing a message shows the streamed greedy reply, equal to
# `floe generate --temp 0` of the ChatML prompt. When chromium, node or npm is missing or the
# npm registry cannot be reached it fails, unless FLOE_TEST_ALLOW_SKIP allows the skip
# (tests/common/skip.sh).
# Usage: web_page_browser.sh FLOE_SERVE FLOE_CLI DATA_DIR NPM_DIR
set -euo pipefail
source "$(dirname "$0")/../common/skip.sh"
serve=$1 floe=$2 data=$3 npm_dir=$(realpath -m "$4")
here=$(cd "$(dirname "$0")" && pwd)
chromium=${FLOE_CHROMIUM:-$(command -v chromium || true)}
[[ -n $chromium && -x $chromium ]] || floe_skip chromium "chromium is not installed (apt-get install chromium)"
source "$here/server_lib.sh"
require_tools node npm curl
npm_package "$npm_dir" puppeteer-core puppeteer-core@24
server_test_init
m=(-m "$data/models/llama2c/stories260K.bin" -z "$data/models/llama2c/tok512.bin")
content="Tell me a story about a cat" max_tokens=120
chatml=$'<|im_start|>user\n'"$content"$'<|im_end|>\n<|im_start|>assistant\n'
greedy_text "$chatml" "$max_tokens" "${m[@]}" >"$tmp/greedy.txt"
echo "{\"model\": \"stories260K.bin\", \"content\": \"$content\", \"max_tokens\": $max_tokens," \
     "\"text\": $(json_file "$tmp/greedy.txt")}" >"$tmp/expected.json"
start_server "$tmp/page.log" "${m[@]}"
HOME=$tmp node "$here/web_page_browser.mjs" "$npm_dir" "$chromium" "$server_url" "$tmp/expected.json"
stop_server
server_pid=
echo "web page browser test passed"
