#!/usr/bin/env bash
# RecurFormer parity: floe's logits on a random-weight `make-model --arch recurformer --preset
# tiny` GGUF (a layer with one, none, two and every KV head replaced) against the float64
# PyTorch reference (recurformer_reference.py, Debian's python3-torch), for whole-prompt
# prefill, chunks of 5 and token by token, and under a head plan that names the replaced heads
# `recurrent` and gives the kept heads windows at least as long as the prompt and dense
# attention (the same attention as the file's): max abs <= 1e-4.
# usage: parity.sh FLOE_BINARY PYTHON
set -euo pipefail
floe=$1
python=$2
here=$(cd "$(dirname "$0")" && pwd)
"$python" -c "import torch, numpy" || {
  echo "parity.sh: $python lacks torch/numpy (Debian python3-torch, python3-numpy: .ci/setup)" >&2
  exit 1
}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$floe" make-model --arch recurformer --preset tiny --seed 7 -o "$dir/rf.gguf"
# 40 token ids spread over the vocabulary (deterministic).
for i in $(seq 0 39); do echo $(((i * 7919 + 13) % 32000)); done > "$dir/tokens.txt"
for batch in 64 5 1; do
  "$floe" logits -m "$dir/rf.gguf" --tokens "$dir/tokens.txt" --batch "$batch" -t 2 \
    -o "$dir/floe_$batch.f32"
done
# A head plan: the tiny preset's replaced heads, and windows / dense for the kept heads.
cat > "$dir/plan.json" <<'JSON'
{"format": "floe-head-plan", "version": 1, "default": {"mode": "window", "window": 64},
 "heads": [{"layer": 0, "head": 1, "mode": "recurrent"},
           {"layer": 1, "head": 2, "mode": "dense"},
           {"layer": 2, "head": 0, "mode": "recurrent"}, {"layer": 2, "head": 3, "mode": "recurrent"},
           {"layer": 3, "head": 0, "mode": "recurrent"}, {"layer": 3, "head": 1, "mode": "recurrent"},
           {"layer": 3, "head": 2, "mode": "recurrent"}, {"layer": 3, "head": 3, "mode": "recurrent"}]}
JSON
"$floe" logits -m "$dir/rf.gguf" --tokens "$dir/tokens.txt" --batch 7 -t 2 \
  --head-plan "$dir/plan.json" -o "$dir/floe_plan.f32"
# floe convert round-trips the file: identical logits.
"$floe" convert "$dir/rf.gguf" -o "$dir/rf2.gguf"
"$floe" logits -m "$dir/rf2.gguf" --tokens "$dir/tokens.txt" -t 2 -o "$dir/converted.f32"
cmp "$dir/converted.f32" "$dir/floe_64.f32"
"$python" "$here/recurformer_reference.py" "$dir/rf.gguf" "$dir/tokens.txt" \
  --floe "$dir/floe_64.f32" "$dir/floe_5.f32" "$dir/floe_1.f32" "$dir/floe_plan.f32" --tol 1e-4
