#!/usr/bin/env bash
# floe longdoc score streams a document that a recurrent model carries (read and tokenized in
# pieces cut at checked line ends) and gives exactly what reading it whole gives: the same
# document as one JSONL record (always read whole) has the same tokens, NLLs, spans and span
# texts. A run killed inside the streamed document and resumed writes a byte-identical file.
# Model: the rwkv.cpp tiny RWKV-6 (byte-level vocabulary).
# Usage: stream.sh FLOE_BINARY DATA_DIR
set -euo pipefail
floe=$1 data=$2
tmp=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && { kill -9 $pid 2>/dev/null || true; }; rm -rf "$tmp"' EXIT
model=$data/models/rwkv/tiny-rwkv-6v0-1m-FP32.bin
# 60 kB of War and Peace: about four 16 KiB pieces.
head -c 100000 "$data/corpora/war-and-peace.txt" | tail -c 60000 >"$tmp/doc.txt"
python3 -c 'import json,sys; print(json.dumps({"id": "doc", "text": open(sys.argv[1], encoding="utf-8", errors="surrogateescape").read()}))' \
  "$tmp/doc.txt" >"$tmp/doc.jsonl" 2>/dev/null ||
  { echo "the excerpt is not UTF-8"; exit 1; }
args=(-m "$model" -t 1 --per-token --top-spans 4 --span-tokens 32 --no-progress)
ck=(--checkpoint-every 2048)  # checkpoints change nothing: the compared run makes them
"$floe" longdoc score "${args[@]}" "${ck[@]}" "$tmp/doc.txt" -o "$tmp/streamed.jsonl"
"$floe" longdoc score "${args[@]}" "$tmp/doc.jsonl" -o "$tmp/whole.jsonl"
python3 - "$tmp/streamed.jsonl" "$tmp/whole.jsonl" "$tmp/doc.txt" <<'EOF'
import json, sys
s = json.loads(open(sys.argv[1]).read())
w = json.loads(open(sys.argv[2]).read())
t = open(sys.argv[3], "rb").read()
assert s["context"] == w["context"] == "carried", (s["context"], w["context"])
assert s["tokens"] == w["tokens"] == len(t), (s["tokens"], w["tokens"], len(t))
for k in ("predicted", "nll", "perplexity", "bits_per_byte", "spans", "token_nll"):
    assert s[k] == w[k], k
for sp in s["spans"]:
    a, b = sp["bytes"]
    assert t[a:b].decode("utf-8", "replace") == sp["text"], sp
print("streamed == whole:", s["tokens"], "tokens, perplexity", s["perplexity"])
EOF

# Kill inside the streamed document (after a checkpoint past token 30000), resume, compare.
"$floe" longdoc score "${args[@]}" "${ck[@]}" "$tmp/doc.txt" -o "$tmp/part.jsonl" &
pid=$!
for _ in $(seq 1 1200); do
  if [[ -f $tmp/part.jsonl.state/checkpoint.json ]] &&
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(not j["next"]>30000)' \
      "$tmp/part.jsonl.state/checkpoint.json" 2>/dev/null; then
    break
  fi
  sleep 0.02
done
kill -9 $pid
wait $pid 2>/dev/null || true
pid=
test ! -s "$tmp/part.jsonl"  # killed inside the document
"$floe" longdoc score "${args[@]}" "${ck[@]}" "$tmp/doc.txt" -o "$tmp/part.jsonl" --resume \
  2>"$tmp/resume.err"
cat "$tmp/resume.err"
grep -q "resuming .*doc.txt at token" "$tmp/resume.err"
cmp "$tmp/streamed.jsonl" "$tmp/part.jsonl"
echo "longdoc stream checks passed"
