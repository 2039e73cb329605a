#!/usr/bin/env bash
# floe eval-attention on stories260K (small context): it runs and prints every field, its
# perplexity / KL / top-1 values equal an independent recomputation from the logits, and the
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
# The values, not only the fields: the same ids through eval-attention and through `floe logits`
# (dense, and ice with the same flags: the same sessions, so the same logits), with perplexity,
# mean KL and top-1 agreement recomputed here from the logits files in Python (float64, its own
# softmax). ids: 159 arithmetic ids among the vocabulary's pieces (259..511, after the byte
# tokens); the window is BOS (1) + the ids.
python3 -c 'print("\n".join(str((37 * i + 11) % 253 + 259) for i in range(159)))' >"$tmp/ids.txt"
knn=(--knn-k 8 --knn-window 16 --knn-sinks 2 --knn-dense-below 0 --threads 1)
"$floe" eval-attention -m "$model" -z "$tok" --tokens "$tmp/ids.txt" --ctx 160 "${knn[@]}" \
  >"$tmp/ids_out.txt"
cat "$tmp/ids_out.txt"
{ echo 1; cat "$tmp/ids.txt"; } >"$tmp/window.txt"
"$floe" logits -m "$model" --tokens "$tmp/window.txt" -o "$tmp/dense.f32" --threads 1
"$floe" logits -m "$model" --tokens "$tmp/window.txt" -o "$tmp/ice.f32" --attention ice "${knn[@]}"
python3 - "$tmp/window.txt" "$tmp/dense.f32" "$tmp/ice.f32" "$tmp/ids_out.txt" <<'PY'
import math, re, struct, sys
ids = [int(l) for l in open(sys.argv[1])]
V = 512
def rows(path):
    b = open(path, "rb").read()
    assert len(b) == 4 * V * len(ids), (path, len(b))
    f = struct.unpack("<%df" % (len(b) // 4), b)
    return [f[r * V:(r + 1) * V] for r in range(len(ids))]
dense, ice = rows(sys.argv[2]), rows(sys.argv[3])
def log_softmax(x):
    m = max(x)
    z = m + math.log(sum(math.exp(v - m) for v in x))
    return [v - z for v in x]
nll_d = nll_i = kl = 0.0
agree = 0
n = len(ids) - 1  # row t predicts ids[t + 1]
for t in range(n):
    ld, li = log_softmax(dense[t]), log_softmax(ice[t])
    nll_d -= ld[ids[t + 1]]
    nll_i -= li[ids[t + 1]]
    kl += sum(math.exp(a) * (a - b) for a, b in zip(ld, li))
    agree += dense[t].index(max(dense[t])) == ice[t].index(max(ice[t]))  # first max, as C++
out = open(sys.argv[4]).read()
got_kl, got_n = re.search(r"mean KL\(dense \|\| ice\): ([0-9.]+) nats over (\d+) positions", out).groups()
got_top1 = re.search(r"top-1 agreement: ([0-9.]+)", out).group(1)
got_pd, got_pi = re.search(r"perplexity: dense ([0-9.]+), ice ([0-9.]+)", out).groups()
want = {"positions": (n, int(got_n), 0), "mean KL": (kl / n, float(got_kl), 5e-7),
        "top-1": (agree / n, float(got_top1), 5e-5),
        "perplexity dense": (math.exp(nll_d / n), float(got_pd), 5e-5),
        "perplexity ice": (math.exp(nll_i / n), float(got_pi), 5e-5)}
print("recomputed: " + ", ".join("%s %.6g (printed %s)" % (k, v[0], v[1]) for k, v in want.items()))
# Tolerance: half a unit of the printed digit (%.6f, %.4f), plus 1e-9 relative for the order of
# float64 sums (C++ and Python add the same float32 logits in the same order, in float64).
bad = [k for k, (w, g, tol) in want.items() if abs(w - g) > tol + 1e-9 * abs(w)]
assert not bad, ("eval-attention's values differ from the recomputed ones", bad, want)
assert kl > 0 and agree < n, "the kNN run should differ from dense here (k 8, window 16)"
PY
printf '5\n512\n' >"$tmp/bad_ids.txt"
if "$floe" eval-attention -m "$model" -z "$tok" --tokens "$tmp/bad_ids.txt" --ctx 3 2>"$tmp/e0.txt"; then exit 1; fi
grep -q "token id 512 is outside the vocabulary (512)" "$tmp/e0.txt"
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
