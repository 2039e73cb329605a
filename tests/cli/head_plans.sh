#!/usr/bin/env bash
# floe analyze-heads and plan-heads on stories-long-2k and War and Peace (small context): the
# table, JSON and SVG heatmap; a calibrated plan written, read back by generate/logits/bench;
# a plan with a knn head measured by eval-attention and shown by analyze-heads;
# bad plans and plans for a model without attention heads: clear errors, non-zero exits.
# Usage: head_plans.sh FLOE_BINARY DATA_DIR
set -euo pipefail
floe=$1 data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$data/models/llama2c/stories-long-2k.bin tok=$data/models/llama2c/tok512.bin
text=$data/corpora/war-and-peace.txt
test -f "$model" && test -f "$text"

"$floe" analyze-heads -m "$model" -z "$tok" -f "$text" --ctx 512 --skip-frac 0.5 --threads 1 \
  --svg "$tmp/heads.svg" >"$tmp/table.txt"
cat "$tmp/table.txt"
grep -q "layer  head  kv" "$tmp/table.txt"
test "$(grep -c '^[0-3] ' "$tmp/table.txt")" -eq 16  # 4 layers x 4 query heads
grep -q "<svg" "$tmp/heads.svg"
test "$(grep -c '<rect x=' "$tmp/heads.svg")" -eq 48  # 3 windows x 16 heads
"$floe" analyze-heads -m "$model" -z "$tok" -f "$text" --ctx 512 --threads 1 --json >"$tmp/h.json"
python3 - "$tmp/h.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["n_layers"] == 4 and j["n_heads"] == 4 and j["n_kv_heads"] == 2, j
for h in j["heads"]:
    assert 0 <= h["recent16"] <= h["recent64"] <= h["recent256"] <= 1 + 1e-9, h
    assert 0 < h["top32"] <= 1 + 1e-9 and h["entropy"] >= 0 and h["queries"] > 0, h
PY

"$floe" plan-heads -m "$model" -z "$tok" -f "$text" --context 256 --min-top1 0.97 \
  --decode-tokens 8 -r 1 --threads 1 -o "$tmp/plan.json" >"$tmp/plan.txt" 2>"$tmp/plan.err"
cat "$tmp/plan.txt"
for field in "plan: [0-9]* dense, [0-9]* knn, [0-9]* window heads of 8" "ice (uniform defaults)" \
             "^plan " "cache B/token" "plan vs dense: cache x"; do
  grep -q "$field" "$tmp/plan.txt" || { echo "missing: $field"; exit 1; }
done
grep -q '"format": "floe-head-plan"' "$tmp/plan.json"
# The plan drives generate, logits and bench.
"$floe" generate -m "$model" -z "$tok" --head-plan "$tmp/plan.json" -p "Pierre" -n 16 --temp 0 \
  --ctx 256 >"$tmp/gen.txt"
test -s "$tmp/gen.txt"
printf '1\n403\n407\n' >"$tmp/tokens.txt"
"$floe" logits -m "$model" --tokens "$tmp/tokens.txt" -o "$tmp/l.f32" --head-plan "$tmp/plan.json"
test "$(stat -c %s "$tmp/l.f32")" -eq $((3 * 512 * 4))

# A hand-written plan with a knn head: eval-attention measures it (recall of that head's
# search, the plan's KL/top-1/perplexity), analyze-heads shows it beside the measures.
cat >"$tmp/knn.json" <<'JSON'
{"heads": [{"layer": 1, "head": 1, "mode": "knn", "k": 8, "window": 32, "sinks": 2},
           {"layer": 0, "head": 0, "mode": "window", "window": 32}]}
JSON
"$floe" eval-attention -m "$model" -z "$tok" -f "$text" --skip-frac 0.9 --ctx 512 --threads 1 \
  --knn-dense-below 64 --head-plan "$tmp/knn.json" >"$tmp/eval.txt"
cat "$tmp/eval.txt"
grep -q "^head plan: $tmp/knn.json" "$tmp/eval.txt"
grep -Eq "^sampled queries: [1-9][0-9]* kNN, [0-9]+ dense .*the plan's knn heads only" "$tmp/eval.txt"
grep -Eq "^recall by layer: [0-9.]+$" "$tmp/eval.txt"  # layer 1 only
# At 512 tokens the search scores every eligible key, so it finds the exact top k of the head's
# own k (8): recall near 1 (measured against the session's k of 32 it would read 0.25).
awk '/^top-k recall:/ { found = 1; if ($3 < 0.9) { print "recall " $3; bad = 1 } }
     END { exit (!found || bad) }' "$tmp/eval.txt"
grep -Eq "^top-1 agreement: 0\.[0-9]+|^top-1 agreement: 1\.0000" "$tmp/eval.txt"
grep -Eq "^perplexity: dense [0-9.]+, plan [0-9.]+" "$tmp/eval.txt"
"$floe" analyze-heads -m "$model" -z "$tok" -f "$text" --ctx 512 --threads 1 \
  --head-plan "$tmp/knn.json" >"$tmp/planned-table.txt"
grep -q "top32  plan" "$tmp/planned-table.txt"
test "$(grep -c ' window(32)$' "$tmp/planned-table.txt")" -eq 2  # layer 0: query heads 0 and 1
test "$(grep -c ' knn(k=8,window=32,sinks=2)$' "$tmp/planned-table.txt")" -eq 2
test "$(grep -c ' dense$' "$tmp/planned-table.txt")" -eq 12

# Bad plans: clear errors.
echo '{"heads": [{"layer": 0, "head": 0, "mode": "sliding"}]}' >"$tmp/bad1.json"
if "$floe" generate -m "$model" -z "$tok" --head-plan "$tmp/bad1.json" -n 4 2>"$tmp/e1.txt"; then exit 1; fi
grep -q "unknown head mode 'sliding'" "$tmp/e1.txt"
echo '{"heads": [{"layer": 7, "head": 0, "mode": "dense"}]}' >"$tmp/bad2.json"
if "$floe" generate -m "$model" -z "$tok" --head-plan "$tmp/bad2.json" -n 4 2>"$tmp/e2.txt"; then exit 1; fi
grep -q "names layer 7 head 0, but the model has 4 layers" "$tmp/e2.txt"
echo '{"heads": [{"layer": 0, "head": 1, "mode": "window", "window": 0}]}' >"$tmp/bad3.json"
if "$floe" generate -m "$model" -z "$tok" --head-plan "$tmp/bad3.json" -n 4 2>"$tmp/e3.txt"; then exit 1; fi
grep -q "a window head needs a window of at least 1 key, not 0" "$tmp/e3.txt"
if "$floe" generate -m "$data/models/rwkv/tiny-rwkv-6v0-1m-FP32.bin" -p "The" -n 4 \
     --head-plan "$tmp/plan.json" 2>"$tmp/e4.txt"; then exit 1; fi
grep -q "does not take a head plan" "$tmp/e4.txt"
echo "head plans: ok"
