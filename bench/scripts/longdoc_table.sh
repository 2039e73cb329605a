#!/usr/bin/env bash
# floe longdoc score over two long excerpts (the last 30000 bytes of War and Peace, held out from
# stories-long-2k's training, and of Frankenstein) with a dense model sliding over its trained
# context, the same windows with IceFormer kNN attention, and recurrent models carrying the
# whole document (tiny RWKV-6, TransNormerLLM random weights): one row per setting and document.
# Usage: longdoc_table.sh FLOE_BINARY DATA_DIR WORKDIR
set -euo pipefail
floe=$1 data=$2 work=$3
mkdir -p "$work"
for name in war-and-peace frankenstein; do
  tail -c 30000 "$data/corpora/$name.txt" >"$work/$name-tail30k.txt"
done
docs=("$work/war-and-peace-tail30k.txt" "$work/frankenstein-tail30k.txt")
[[ -f $work/tn-tiny.gguf ]] ||
  "$floe" make-model --arch transnormer --preset tiny --type f32 -o "$work/tn-tiny.gguf" >/dev/null
llama=(-m "$data/models/llama2c/stories-long-2k.bin" -z "$data/models/llama2c/tok512.bin")
run() {  # NAME ARGS...
  local name=$1
  shift
  rm -f "$work/$name.jsonl"
  /usr/bin/time -f "%e %M" -o "$work/$name.time" \
    "$floe" longdoc score -t 1 --no-progress --top-spans 0 "$@" "${docs[@]}" -o "$work/$name.jsonl"
  python3 - "$name" "$work/$name.jsonl" "$work/$name.time" <<'PY'
import json, sys
wall, rss = open(sys.argv[3]).read().split()[-2:]
for l in open(sys.argv[2]):
    j = json.loads(l)
    ctx = j["context"] + (" W%d S%d" % (j["window"], j["stride"]) if j["context"] == "sliding" else "")
    print("| %s | %s | %d | %.4f | %.4f | %s | %s s, %d MiB |" % (sys.argv[1],
          j["document"].split("/")[-1], j["tokens"], j["perplexity"], j["bits_per_byte"], ctx,
          wall, int(rss) // 1024))
PY
}
echo "| setting | document | tokens | perplexity | bits/byte | context | run (both docs): wall, peak RSS |"
echo "|---|---|---|---|---|---|---|"
run stories-long-2k-dense "${llama[@]}"
run stories-long-2k-ice "${llama[@]}" --attention ice
run rwkv6-tiny -m "$data/models/rwkv/tiny-rwkv-6v0-1m-FP32.bin"
run transnormer-tiny-random -m "$work/tn-tiny.gguf"
