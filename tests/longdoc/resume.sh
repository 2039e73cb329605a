#!/usr/bin/env bash
# floe longdoc score --resume: a run killed with SIGKILL in the middle of a document (after a
# checkpoint of it appeared) and resumed writes a results file byte-identical to an
# uninterrupted run's. Model: the rwkv.cpp tiny RWKV-6 (recurrent: the whole document is carried
# in one session, so the checkpoint holds the recurrent state). Per-token NLLs are included so
# that every number is compared.
# Usage: resume.sh FLOE_BINARY DATA_DIR
set -euo pipefail
floe=$1 data=$2
tmp=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && { kill -9 $pid 2>/dev/null || true; }; rm -rf "$tmp"' EXIT
model=$data/models/rwkv/tiny-rwkv-6v0-1m-FP32.bin
text=$data/corpora/war-and-peace.txt
mkdir "$tmp/docs"
head -c 1500 "$text" >"$tmp/docs/1.txt"
head -c 29000 "$text" | tail -c 9000 >"$tmp/docs/2.txt"
head -c 41500 "$text" | tail -c 1500 >"$tmp/docs/3.txt"
args=(-m "$model" -t 1 --per-token --checkpoint-every 500 --no-progress "$tmp/docs")

"$floe" longdoc score "${args[@]}" -o "$tmp/full.jsonl"
test "$(wc -l <"$tmp/full.jsonl")" -eq 3

"$floe" longdoc score "${args[@]}" -o "$tmp/part.jsonl" &
pid=$!
# Wait for a checkpoint inside the second document, past its first 2000 tokens.
for _ in $(seq 1 600); do
  if [[ -f $tmp/part.jsonl.state/checkpoint.json ]] &&
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(not (j["doc_index"]==1 and j["next"]>2000))' \
      "$tmp/part.jsonl.state/checkpoint.json" 2>/dev/null; then
    break
  fi
  sleep 0.05
done
kill -9 $pid
wait $pid 2>/dev/null || true
pid=
test "$(wc -l <"$tmp/part.jsonl")" -eq 1  # killed inside the second document
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("killed at document", j["doc_index"], "position", j["next"])' \
  "$tmp/part.jsonl.state/checkpoint.json"

# A copy of the killed run with its state file truncated: resuming it names the file.
cp "$tmp/part.jsonl" "$tmp/trunc.jsonl"
cp -r "$tmp/part.jsonl.state" "$tmp/trunc.jsonl.state"
for f in "$tmp"/trunc.jsonl.state/*.state; do truncate -s 100 "$f"; done
if "$floe" longdoc score "${args[@]}" -o "$tmp/trunc.jsonl" --resume 2>"$tmp/trunc.err"; then exit 1; fi
cat "$tmp/trunc.err"
grep -q "cannot restore the session state '.*trunc.jsonl.state/doc1-pos[0-9]*.state'" "$tmp/trunc.err"

"$floe" longdoc score "${args[@]}" -o "$tmp/part.jsonl" --resume 2>"$tmp/resume.err"
cat "$tmp/resume.err"
grep -q "resuming .*/docs/2.txt at token" "$tmp/resume.err"  # from the checkpoint, not afresh
cmp "$tmp/full.jsonl" "$tmp/part.jsonl"
# Nothing left to do: a second --resume appends nothing.
"$floe" longdoc score "${args[@]}" -o "$tmp/part.jsonl" --resume
cmp "$tmp/full.jsonl" "$tmp/part.jsonl"
# A checkpoint that cannot be read is a clear error.
mkdir -p "$tmp/bad.jsonl.state"
echo '{"settings": 1}' >"$tmp/bad.jsonl.state/checkpoint.json"
if "$floe" longdoc score "${args[@]}" -o "$tmp/bad.jsonl" --resume 2>"$tmp/err"; then exit 1; fi
grep -q "not a floe longdoc checkpoint" "$tmp/err"
echo "longdoc resume checks passed"
