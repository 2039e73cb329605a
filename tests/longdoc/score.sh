#!/usr/bin/env bash
# floe longdoc score on stories260K (llama2.c, context 512):
#  - a short document's perplexity equals the one computed independently (python3) from the
#    logits `floe logits` writes for the same tokens;
#  - a document longer than the context slides (window 512, stride 256), predicts every token,
#    and its NLL equals the one computed (python3) from `floe logits` of each window;
#  - folders are read recursively in sorted order; a JSONL corpus gives one line per record; a
#    missing file, a line that is not JSON, a record without text and an empty document are
#    reported in their place and the run goes on.
# Usage: score.sh FLOE_BINARY DATA_DIR
set -euo pipefail
floe=$1 data=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$data/models/llama2c/stories260K.bin tok=$data/models/llama2c/tok512.bin
py() { python3 -c "import json,sys; $1" "${@:2}"; }

# 1. Short document vs floe logits. tok512's encoding of the text (BOS first).
printf 'Once upon a time there was a cat.' >"$tmp/short.txt"
printf '1\n403\n407\n261\n378\n383\n286\n261\n280\n294\n426\n' >"$tmp/short.ids"
"$floe" longdoc score -m "$model" -z "$tok" -t 1 "$tmp/short.txt" -o "$tmp/short.jsonl"
"$floe" logits -m "$model" -z "$tok" -t 1 --tokens "$tmp/short.ids" -o "$tmp/short.f32"
read -r nll ppl < <(python3 "$here/nll_from_logits.py" "$tmp/short.f32" "$tmp/short.ids" 512)
py 'j=json.loads(open(sys.argv[1]).read()); n,p=float(sys.argv[2]),float(sys.argv[3])
assert j["tokens"]==10 and j["predicted"]==10 and j["bytes"]==33, j
assert abs(j["nll"]-n)<1e-5 and abs(j["perplexity"]/p-1)<1e-5, (j, n, p)
assert j["context"]=="carried" and len(j["spans"])==1, j
print("short: floe longdoc", j["perplexity"], "python from floe logits", p)' \
  "$tmp/short.jsonl" "$nll" "$ppl"

# 2. Sliding windows against floe logits of each window: the sentence 70 times is 700 tokens
#    (its 10 ids repeated), two windows of 512 with stride 256.
for _ in $(seq 70); do printf 'Once upon a time there was a cat. '; done >"$tmp/rep.txt"
truncate -s -1 "$tmp/rep.txt"
{ echo 1; for _ in $(seq 70); do tail -n 10 "$tmp/short.ids"; done; } >"$tmp/rep.ids"
"$floe" longdoc score -m "$model" -z "$tok" -t 1 "$tmp/rep.txt" -o "$tmp/rep.jsonl"
for w in 0 1; do
  tail -n +$((w * 256 + 1)) "$tmp/rep.ids" | head -n 512 >"$tmp/rep$w.ids"
  "$floe" logits -m "$model" -z "$tok" -t 1 --tokens "$tmp/rep$w.ids" -o "$tmp/rep$w.f32" 2>/dev/null
done
read -r nll n < <(python3 "$here/sliding_from_logits.py" "$tmp/rep.ids" 512 256 512 \
  "$tmp/rep0.f32" "$tmp/rep1.f32")
py 'j=json.loads(open(sys.argv[1]).read()); n,c=float(sys.argv[2]),int(sys.argv[3])
assert j["tokens"]==700 and j["predicted"]==c==700 and j["context"]=="sliding", j
assert abs(j["nll"]-n)<1e-5, (j["nll"], n)
print("sliding: floe longdoc nll", j["nll"], "python from per-window floe logits", n)' \
  "$tmp/rep.jsonl" "$nll" "$n"

# 3. A long document slides; spans name their bytes.
head -c 4000 "$data/corpora/tinystories-valid-head.txt" >"$tmp/long.txt"
"$floe" longdoc score -m "$model" -z "$tok" -t 1 --top-spans 3 --span-tokens 8 --per-token \
  "$tmp/long.txt" -o "$tmp/long.jsonl"
py 'j=json.loads(open(sys.argv[1]).read()); t=open(sys.argv[2],"rb").read()
assert j["context"]=="sliding" and j["window"]==512 and j["stride"]==256, j
assert j["predicted"]==j["tokens"]>512 and len(j["token_nll"])==j["predicted"]
import math; assert abs(sum(j["token_nll"])/j["predicted"]-j["nll"])<1e-6
assert len(j["spans"])==3 and j["spans"][0]["nll"]>=j["spans"][1]["nll"]>=j["spans"][2]["nll"]
for s in j["spans"]:
  a,b=s["bytes"]; assert t[a:b].decode("utf-8","replace")==s["text"], s
print("long:", j["tokens"], "tokens, perplexity", j["perplexity"])' "$tmp/long.jsonl" "$tmp/long.txt"

# floe longdoc plot: an SVG with one polyline per document scored with --per-token.
"$floe" longdoc plot "$tmp/long.jsonl" -o "$tmp/long.svg" --smooth 32
py 'import xml.dom.minidom as m; d=m.parse(sys.argv[1])
assert len(d.getElementsByTagName("polyline"))==1' "$tmp/long.svg"
if "$floe" longdoc plot "$tmp/short.jsonl" -o "$tmp/short.svg" 2>"$tmp/e"; then exit 1; fi
grep -q "no token_nll (score with --per-token)" "$tmp/e"

# 4. Folders, JSONL, bad input.
mkdir -p "$tmp/dir/b" "$tmp/dir/a"
printf 'The dog ran.' >"$tmp/dir/b/2.txt"
printf 'A bird sang. \xff\xfe bad bytes \xc3' >"$tmp/dir/a/1.txt"  # invalid UTF-8: scored
: >"$tmp/dir/b/3.txt"
{
  echo '{"id": "r1", "text": "Tom had a ball."}'
  echo 'this is not json'
  echo ''
  echo '{"id": 7, "body": "no text field"}'
  echo '{"body": "Lily was happy.", "name": "x"}'
} >"$tmp/corpus.jsonl"
"$floe" longdoc score -m "$model" -z "$tok" -t 1 "$tmp/dir" "$tmp/corpus.jsonl" "$tmp/missing.txt" \
  --text-field body -o "$tmp/mixed.jsonl" 2>"$tmp/mixed.err"
cat "$tmp/mixed.err"
py 'L=[json.loads(l) for l in open(sys.argv[1])]; d=sys.argv[2]
ids=[j["document"] for j in L]
assert ids==[d+"/dir/a/1.txt", d+"/dir/b/2.txt", d+"/dir/b/3.txt", d+"/corpus.jsonl:1",
             d+"/corpus.jsonl:2", "7", d+"/corpus.jsonl:5", d+"/missing.txt"], ids
assert "perplexity" in L[0] and "perplexity" in L[1] and "empty document" in L[2]["error"]
assert "no string field \"body\"" in L[3]["error"] and L[3]["line"]==1
assert L[4]["error"].endswith("corpus.jsonl:2: not JSON")
assert L[5]["line"]==4 and L[5]["perplexity"]>1 and L[6]["perplexity"]>1 and L[6]["line"]==5
assert "no such file" in L[7]["error"]
print("mixed inputs: ok")' "$tmp/mixed.jsonl" "$tmp"
# Progress: silent when stderr is not a terminal; --progress-every S gives log lines.
"$floe" longdoc score -m "$model" -z "$tok" -t 1 "$tmp/long.txt" -o "$tmp/p1.jsonl" 2>"$tmp/p1.err"
test ! -s "$tmp/p1.err"
"$floe" longdoc score -m "$model" -z "$tok" -t 1 "$tmp/long.txt" -o "$tmp/p2.jsonl" \
  --progress-every 0.000001 2>"$tmp/p2.err"
grep -q "^longdoc: 1/1 documents, [0-9]* tokens, [0-9]* tok/s$" "$tmp/p2.err"
# An existing result file is never overwritten without --resume.
if "$floe" longdoc score -m "$model" -z "$tok" "$tmp/short.txt" -o "$tmp/short.jsonl" 2>"$tmp/e"; then
  exit 1
fi
grep -q "pass --resume" "$tmp/e"
echo "longdoc score checks passed"
