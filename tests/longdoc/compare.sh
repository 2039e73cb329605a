#!/usr/bin/env bash
# floe longdoc compare on stories260K: identical settings agree exactly (KL 0, delta 0, top-1
# 1); dense vs IceFormer kNN attention with a small window differs a little and says so, per
# document and in the summary line.
# Usage: compare.sh FLOE_BINARY DATA_DIR
set -euo pipefail
floe=$1 data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$data/models/llama2c/stories260K.bin tok=$data/models/llama2c/tok512.bin
head -c 1500 "$data/corpora/tinystories-valid-head.txt" >"$tmp/a.txt"
printf 'Once upon a time there was a cat.' >"$tmp/b.txt"
"$floe" longdoc compare -m "$model" -z "$tok" -t 1 "$tmp/a.txt" "$tmp/b.txt" \
  -o "$tmp/same.jsonl" 2>"$tmp/same.err"
"$floe" longdoc compare -m "$model" -z "$tok" -t 1 "$tmp/a.txt" "$tmp/b.txt" --b-attention ice \
  --b-knn-k 8 --b-knn-window 32 --b-knn-sinks 2 --b-knn-dense-below 0 -o "$tmp/ice.jsonl" \
  2>"$tmp/ice.err"
cat "$tmp/same.err" "$tmp/ice.err"
grep -q "^summary: 2 documents, .* top-1 agreement 1.0000" "$tmp/same.err"
grep -q "^summary: 2 documents, .*mean KL(A||B) 0.0*[1-9]" "$tmp/ice.err"
python3 -c '
import json, sys
same = [json.loads(l) for l in open(sys.argv[1])]
ice = [json.loads(l) for l in open(sys.argv[2])]
for j in same:
    assert j["kl_mean"] == 0 and j["perplexity_delta"] == 0 and j["top1_agreement"] == 1, j
a = ice[0]
assert a["predicted"] > 100 and 0 < a["kl_mean"] < 1 and 0.5 < a["top1_agreement"] < 1, a
assert abs(a["perplexity_b"] - a["perplexity_a"] - a["perplexity_delta"]) < 1e-9, a
assert a["perplexity_a"] == same[0]["perplexity_a"], (a, same[0])
print("dense vs ice:", a["perplexity_a"], a["perplexity_b"], a["kl_mean"], a["top1_agreement"])
' "$tmp/same.jsonl" "$tmp/ice.jsonl"
echo "longdoc compare checks passed"
