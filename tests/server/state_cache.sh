#!/usr/bin/env bash
# floe-serve --cache-dir on stories-long-2k (context 2048): a server reads a long document and
# stops; a new server on the same folder answers the document extended by a few sentences by
# restoring the saved state (/metrics: restored tokens, and only the extension prefilled), and its
# greedy reply equals `floe generate --temp 0` of the whole prompt and a server without a cache;
# the same document again restores all of it and prefills nothing, the reply unchanged.
# Then hostile files (a garbage file under a state's name, a state with a flipped byte, a FIFO)
# are refused with a log line, the request still answered exactly; and --cache-max-mb evicts the
# least recently used state.
# Usage: state_cache.sh FLOE_SERVE FLOE_CLI DATA_DIR
set -euo pipefail
source "$(dirname "$0")/../common/skip.sh"
serve=$1 floe=$2 data=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/server_lib.sh"
require_tools node curl
server_test_init
m=(-m "$data/models/llama2c/stories-long-2k.bin" -z "$data/models/llama2c/tok512.bin")
corpus=$data/corpora/frankenstein.txt
[[ -f $corpus ]] || { echo "missing $corpus"; exit 1; }

# The document (ASCII, ~2600 bytes, ending with a sentence) and its extension (the next
# sentences, ~300 bytes, starting with a space). Another document for the eviction check.
node - "$corpus" "$tmp" <<'JS'
const fs = require("fs");
const [corpus, dir] = process.argv.slice(2);
const text = fs.readFileSync(corpus, "utf8").replace(/[^\x20-\x7e\n]/g, "").replace(/\s+/g, " ");
const cut = (s, from, n) => from + s.slice(from, from + n).lastIndexOf(".") + 1;
const start = text.indexOf(" ", 20000) + 1;
const a = cut(text, start, 2600), b = cut(text, a, 300), c = cut(text, b + 5000, 2600);
fs.writeFileSync(dir + "/doc.txt", text.slice(start, a));
fs.writeFileSync(dir + "/ext.txt", text.slice(start, b));
fs.writeFileSync(dir + "/other.txt", text.slice(b + 5000, c).trimStart());
JS
complete() {  # complete PROMPT_FILE MAX_TOKENS: the greedy completion's text on stdout
  node -e '
    const [url, file, max] = process.argv.slice(1);
    const prompt = require("fs").readFileSync(file, "utf8");
    fetch(url + "/v1/completions", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prompt, max_tokens: Number(max), temperature: 0 }) })
      .then(async (r) => { const j = await r.json(); if (!r.ok) throw new Error(JSON.stringify(j));
                           process.stdout.write(j.choices[0].text); })
      .catch((e) => { console.error(e); process.exit(1); });' "$server_url" "$1" "$2"
}
metric() {  # metric NAME: its value in /metrics
  curl -sf "$server_url/metrics" | sed -n "s/^$1 \([0-9.e+]*\)$/\1/p"
}
greedy_text "$(cat "$tmp/ext.txt")" 24 "${m[@]}" >"$tmp/expected.txt"
[[ -s $tmp/expected.txt ]]

# A server without a cache: the reference reply.
start_server "$tmp/fresh.log" "${m[@]}"
complete "$tmp/ext.txt" 24 >"$tmp/fresh.txt"
stop_server
cmp "$tmp/fresh.txt" "$tmp/expected.txt"

# Read the document, stop: its state is on disk.
cache=$tmp/cache
start_server "$tmp/first.log" "${m[@]}" --cache-dir "$cache"
complete "$tmp/doc.txt" 4 >"$tmp/doc-reply.txt"
doc_tokens=$(metric floe_prompt_tokens_total)
stop_server
ls "$cache"/*.fstate >/dev/null
echo "saved: $(ls "$cache" | wc -l) states for a document of $doc_tokens tokens"

# Restart on the same folder: the extended prompt restores the document's state.
start_server "$tmp/second.log" "${m[@]}" --cache-dir "$cache"
complete "$tmp/ext.txt" 24 >"$tmp/resumed.txt"
cmp "$tmp/resumed.txt" "$tmp/expected.txt"
restored=$(metric floe_state_cache_restored_tokens_total)
prompt=$(metric floe_prompt_tokens_total) prefill=$(metric floe_prefill_tokens_total)
echo "restart: prompt $prompt tokens, $restored restored, $prefill prefilled"
[[ $restored -eq $doc_tokens && $prefill -eq $((prompt - restored)) ]]
# The same document again: its whole state is restored (logits included), nothing prefilled.
complete "$tmp/doc.txt" 4 >"$tmp/doc-again.txt"
cmp "$tmp/doc-again.txt" "$tmp/doc-reply.txt"
[[ $(metric floe_state_cache_restored_tokens_total) -eq $((restored + doc_tokens)) &&
   $(metric floe_prefill_tokens_total) -eq $prefill ]]
stop_server

# Hostile files: garbage under a state's name, then every saved state with a byte flipped in
# its state part (the C API's checksum refuses it). Refused with a log line; the reply is exact.
head -c 100 /dev/urandom >"$cache/0123456789abcdef.fstate"
for f in "$cache"/[0-9a-f]*.fstate; do
  size=$(stat -c %s "$f")
  ((size > 1000)) || continue
  printf '\x5a' | dd of="$f" bs=1 seek=$((size - 500)) conv=notrunc status=none
done
start_server "$tmp/hostile.log" "${m[@]}" --cache-dir "$cache"
grep -q "cache: refusing $cache/0123456789abcdef.fstate" "$tmp/hostile.log"
complete "$tmp/ext.txt" 24 >"$tmp/hostile.txt"
cmp "$tmp/hostile.txt" "$tmp/expected.txt"
grep -q "cache: refusing .*does not load" "$tmp/hostile.log"
[[ $(metric floe_state_cache_restored_total) -eq 0 && $(metric floe_state_cache_refused_total) -ge 2 ]]
stop_server

# A FIFO put in place of an indexed state (after the server listed the folder) must not block the
# scheduler in open(): refused as not a regular file, the request prefilled and answered exactly.
start_server "$tmp/fifo.log" "${m[@]}" --cache-dir "$cache"
for f in "$cache"/[0-9a-f]*.fstate; do
  (($(stat -c %s "$f") > 1000)) || continue
  rm "$f"
  mkfifo "$f"
done
timeout 60 bash -c "$(declare -f complete); server_url=$server_url complete $tmp/ext.txt 24" >"$tmp/fifo.txt"
cmp "$tmp/fifo.txt" "$tmp/expected.txt"
grep -q "cache: refusing .*: not a regular file" "$tmp/fifo.log"
stop_server
find "$cache" -type p -delete

# A cap of 4 MiB holds one document's state (~2.8 MiB: 1365 tokens x 4 layers x K,V x 64 floats)
# but not two: the older is deleted (max_tokens 1: one state per request, the prompt's).
rm -rf "$cache"
start_server "$tmp/cap.log" "${m[@]}" --cache-dir "$cache" --cache-max-mb 4 --cache-min-tokens 500
complete "$tmp/doc.txt" 1 >/dev/null
complete "$tmp/other.txt" 1 >/dev/null
for _ in $(seq 1 100); do  # the writer thread stores the second state
  [[ $(metric floe_state_cache_saved_total) -ge 2 ]] && break
  sleep 0.1
done
[[ $(metric floe_state_cache_evicted_total) -ge 1 && $(metric floe_state_cache_files) -eq 1 ]]
stop_server
server_pid=
[[ $(ls "$cache" | wc -l) -eq 1 ]]
echo "state cache test passed"
