#!/usr/bin/env bash
# RWKV-6 from two layouts floe claims to read, written from the official reference checkpoint by
# write_peer_layouts.py (Python + torch, no floe code): the official state dict as safetensors,
# and llama.cpp's "rwkv6" GGUF with the fused lerp tensor (blk.N.time_mix_lerp_fused), as
# llama.cpp's convert_hf_to_gguf.py writes it. floe's logits for each, prefilled in chunks of 64
# and 5 and token by token, must match the official code's logits.f32 and step_logits.f32 within
# 1e-4 (the bound of the .pth test: float32 sums in another order). A control with the fused
# tensor's w and k parts exchanged must miss by more than 0.05: the check sees the order.
# usage: peer_layouts.sh FLOE_BINARY DATA_DIR PYTHON
set -euo pipefail
floe=$1
data=$2
python=$3
here=$(cd "$(dirname "$0")" && pwd)
ref=$data/reference/rwkv6
for f in model.pth tokens.txt logits.f32 step_logits.f32; do
  [[ -f $ref/$f ]] || { echo "peer_layouts.sh: missing test data $ref/$f" >&2; exit 1; }
done
"$python" -c "import torch, numpy" || {
  echo "peer_layouts.sh: $python lacks torch/numpy (Debian python3-torch, python3-numpy: .ci/setup)" >&2
  exit 1
}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$python" "$here/write_peer_layouts.py" "$ref/model.pth" "$dir" --swap-fused
for file in model.safetensors fused.gguf fused_swapped.gguf; do
  for batch in 64 5 1; do
    "$floe" logits -m "$dir/$file" --tokens "$ref/tokens.txt" --batch "$batch" -t 2 \
      --no-progress -o "$dir/$file.$batch.f32"
  done
done
"$python" - "$dir" "$ref" <<'PY'
import sys
import numpy as np
out, ref = sys.argv[1], sys.argv[2]
seq = np.fromfile(f"{ref}/logits.f32", "<f4")
step = np.fromfile(f"{ref}/step_logits.f32", "<f4")
failed = False
for file, bound, must_match in [("model.safetensors", 1e-4, True), ("fused.gguf", 1e-4, True),
                                ("fused_swapped.gguf", 0.05, False)]:
    for batch in (64, 5, 1):
        got = np.fromfile(f"{out}/{file}.{batch}.f32", "<f4")
        assert got.size == seq.size, (file, batch, got.size)
        d = max(float(np.abs(got - seq).max()), float(np.abs(got - step).max()))
        ok = d <= bound if must_match else d > bound
        print(f"{file} batch {batch}: max |floe - official| {d:.3g} "
              f"({'<=' if must_match else '>'} {bound}: {'ok' if ok else 'FAILED'})")
        failed |= not ok
sys.exit(1 if failed else 0)
PY
echo "rwkv6 peer layouts: safetensors and llama.cpp fused-lerp GGUF match the official logits"
