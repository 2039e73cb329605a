#!/usr/bin/env bash
# floe eval-attention on stories260K (small context): it runs and prints every field; the
# attention flags reject bad values with a clear message and a non-zero exit.
# Usage: eval_attention.sh FLOE_BINARY DATA_DIR
set -euo pipefail
floe=$1 data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$data/models/llama2c/stories260K.bin tok=$data/models/llama2c/tok512.bin
text=$data/corpora/tinystories-valid-head.txt
"$floe" eval-attention -m "$model" -z "$tok" -f "$text" --ctx 160 --knn-k 8 --knn-window 16 \
  --knn-sinks 2 --knn-dense-below 0 --windows 2 --threads 1 >"$tmp/out.txt"
cat "$tmp/out.txt"
for field in "top-k recall: [01]\." "recall by layer:" "keys scored per kNN query:" \
             "attention output relative error: mean" "mean KL(dense || ice):" \
             "top-1 agreement: [01]\." "perplexity: dense [0-9.]*, ice [0-9.]*" "prefill time:"; do
  grep -q "$field" "$tmp/out.txt" || { echo "missing: $field"; exit 1; }
done
# With the window covering everything the two runs agree exactly.
"$floe" eval-attention -m "$model" -z "$tok" -f "$text" --ctx 160 --knn-window 160 --threads 1 >"$tmp/same.txt"
grep -q "top-1 agreement: 1.0000" "$tmp/same.txt"
grep -q "mean KL(dense || ice): 0.000000" "$tmp/same.txt"
# Bad settings: clear errors.
if "$floe" eval-attention -m "$model" -z "$tok" -f "$text" --ctx 160 --attention foo 2>"$tmp/e1.txt"; then exit 1; fi
grep -q "unknown attention backend 'foo'" "$tmp/e1.txt"
if "$floe" eval-attention -m "$model" -z "$tok" -f "$text" --ctx 160 --knn-k 0 2>"$tmp/e2.txt"; then exit 1; fi
grep -q "k (keys retrieved per query) must be at least 1" "$tmp/e2.txt"
if "$floe" generate -m "$model" -z "$tok" -n 4 --ctx 64 --attention ice 2>"$tmp/e3.txt"; then exit 1; fi
grep -q "window 256 is larger than the context length 64" "$tmp/e3.txt"
# generate and logits accept the flags.
"$floe" generate -m "$model" -z "$tok" -n 20 --temp 0 --attention ice --knn-k 8 --knn-window 16 \
  --knn-sinks 2 --knn-dense-below 0 >"$tmp/gen.txt"
test -s "$tmp/gen.txt"
printf '1\n403\n407\n' >"$tmp/tokens.txt"
"$floe" logits -m "$model" --tokens "$tmp/tokens.txt" -o "$tmp/l.f32" --attention ice --knn-window 2 --knn-sinks 0
test "$(stat -c %s "$tmp/l.f32")" -eq $((3 * 512 * 4))
# The FAISS backend (or, built without FAISS, its clear error).
if "$floe" eval-attention -m "$model" -z "$tok" -f "$text" --ctx 160 --attention faiss --faiss-kind flat \
     --knn-window 160 --threads 1 >"$tmp/faiss_same.txt" 2>"$tmp/faiss_err.txt"; then
  grep -q "faiss settings: .*flat" "$tmp/faiss_same.txt"
  grep -q "top-1 agreement: 1.0000" "$tmp/faiss_same.txt"
  grep -q "mean KL(dense || faiss): 0.000000" "$tmp/faiss_same.txt"
  "$floe" eval-attention -m "$model" -z "$tok" -f "$text" --ctx 160 --attention faiss --faiss-kind hnsw \
    --faiss-m 8 --faiss-ef-search 32 --knn-k 8 --knn-window 16 --knn-sinks 2 --knn-dense-below 0 \
    --threads 2 >"$tmp/faiss.txt"
  cat "$tmp/faiss.txt"
  grep -q "faiss settings: .*hnsw, HNSW M 8 efSearch 32" "$tmp/faiss.txt"
  grep -q "top-k recall: [01]\." "$tmp/faiss.txt"
  grep -q "perplexity: dense [0-9.]*, faiss [0-9.]*" "$tmp/faiss.txt"
  grep -q "state memory: dense [0-9.]* MiB, faiss [0-9.]* MiB (kNN index [0-9.]* MiB)" "$tmp/faiss.txt"
  if "$floe" eval-attention -m "$model" -z "$tok" -f "$text" --ctx 160 --attention faiss --faiss-kind ivf 2>"$tmp/e4.txt"; then exit 1; fi
  grep -q "unknown FAISS index kind 'ivf' (choose flat or hnsw)" "$tmp/e4.txt"
  if "$floe" generate -m "$model" -z "$tok" -n 4 --attention faiss --faiss-m 1 2>"$tmp/e5.txt"; then exit 1; fi
  grep -q "HNSW M (graph degree) must be in \[2, 256\], not 1" "$tmp/e5.txt"
  "$floe" generate -m "$model" -z "$tok" -n 20 --temp 0 --attention faiss --faiss-kind hnsw --knn-k 8 \
    --knn-window 16 --knn-sinks 2 --knn-dense-below 0 >"$tmp/gen_faiss.txt"
  test -s "$tmp/gen_faiss.txt"
else
  grep -q "built without FAISS" "$tmp/faiss_err.txt"
fi
echo "eval-attention checks passed"
