#!/usr/bin/env python3
"""Writes the official RWKV-6 reference checkpoint (model.pth) in two more layouts, without floe:

  model.safetensors  the same state dict (official names and shapes) in a safetensors container
                     written here: u64 header length, JSON header, raw little-endian data.
  fused.gguf         llama.cpp's "rwkv6" GGUF as its convert_hf_to_gguf.py (Rwkv6Model, commit
                     c392e50) writes it: tensor names from gguf-py's tensor_mapping.py, time_mix_w1
                     and the decay LoRA transposed, time_mix_w2 permuted (0, 2, 1), lerp vectors
                     squeezed, and time_maa_w/k/v/r/g stacked into one blk.N.time_mix_lerp_fused
                     of ggml shape {C, 1, 1, 5}; a 256-token "rwkv" vocabulary ('<s>' and the bytes
                     1..255 written as Python's repr, as the converter does).
  --swap-fused also writes fused_swapped.gguf: the same file with the w and k parts of the fused
  tensor exchanged (a control: a reader that mixed up the order must miss the logits).

usage: write_peer_layouts.py MODEL_PTH OUT_DIR [--swap-fused]
"""
import json
import struct
import sys

import numpy as np
import torch


def write_safetensors(state, path):
    header, blobs, offset = {}, [], 0
    for name, t in state.items():
        data = t.detach().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors' writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


# gguf-py's tensor_mapping.py for RWKV-6 (HF names rwkv.blocks.N.attention.X / feed_forward.X are
# the official att.X / ffn.X), and the converter's per-tensor transforms.
LAYER = {
    "ln1.weight": "attn_norm.weight", "ln1.bias": "attn_norm.bias",
    "ln2.weight": "attn_norm_2.weight", "ln2.bias": "attn_norm_2.bias",
    "att.time_maa_x": "time_mix_lerp_x.weight", "att.time_maa_w": "time_mix_lerp_w.weight",
    "att.time_maa_k": "time_mix_lerp_k.weight", "att.time_maa_v": "time_mix_lerp_v.weight",
    "att.time_maa_r": "time_mix_lerp_r.weight", "att.time_maa_g": "time_mix_lerp_g.weight",
    "att.time_maa_w1": "time_mix_w1.weight", "att.time_maa_w2": "time_mix_w2.weight",
    "att.time_decay": "time_mix_decay.weight", "att.time_decay_w1": "time_mix_decay_w1.weight",
    "att.time_decay_w2": "time_mix_decay_w2.weight", "att.time_faaaa": "time_mix_first.weight",
    "att.receptance.weight": "time_mix_receptance.weight", "att.key.weight": "time_mix_key.weight",
    "att.value.weight": "time_mix_value.weight", "att.output.weight": "time_mix_output.weight",
    "att.gate.weight": "time_mix_gate.weight", "att.ln_x.weight": "time_mix_ln.weight",
    "att.ln_x.bias": "time_mix_ln.bias", "ffn.time_maa_k": "channel_mix_lerp_k.weight",
    "ffn.time_maa_r": "channel_mix_lerp_r.weight", "ffn.key.weight": "channel_mix_key.weight",
    "ffn.receptance.weight": "channel_mix_receptance.weight",
    "ffn.value.weight": "channel_mix_value.weight",
}
TOP = {
    "emb.weight": "token_embd.weight", "blocks.0.ln0.weight": "token_embd_norm.weight",
    "blocks.0.ln0.bias": "token_embd_norm.bias", "ln_out.weight": "output_norm.weight",
    "ln_out.bias": "output_norm.bias", "head.weight": "output.weight",
}


def llamacpp_tensors(state, swap_fused):
    """(name, float32 array in torch order) as convert_hf_to_gguf.py's Rwkv6Model yields them."""
    out, lerps = [], {}
    for name, t in state.items():
        if name in TOP:
            out.append((TOP[name], t))
            continue
        parts = name.split(".")
        bid, stem = int(parts[1]), ".".join(parts[2:])
        new = f"blk.{bid}.{LAYER[stem]}"
        if new.endswith(("time_mix_w1.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight")):
            t = t.transpose(0, 1)
        if new.endswith("time_mix_w2.weight"):
            t = t.permute(0, 2, 1)
        if new.endswith("time_mix_decay.weight") or "lerp" in new:
            t = t.squeeze()
        if "time_mix_lerp" in new and "time_mix_lerp_x" not in new:
            lerps.setdefault(bid, {})[new] = t
            if all(f"blk.{bid}.time_mix_lerp_{i}.weight" in lerps[bid] for i in "wkvrg"):
                order = "kwvrg" if swap_fused else "wkvrg"
                data = torch.stack([lerps[bid][f"blk.{bid}.time_mix_lerp_{i}.weight"].unsqueeze(0)
                                    for i in order], dim=0).unsqueeze(1)
                out.append((f"blk.{bid}.time_mix_lerp_fused.weight", data))
            continue
        out.append((new, t))
    return out


GGUF_U32, GGUF_I32, GGUF_F32, GGUF_STRING, GGUF_ARRAY = 4, 5, 6, 8, 9


def gguf_string(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def write_gguf(path, kv, tensors):
    """GGUF v3 as gguf-py writes it: header, key/values, tensor infos, data aligned to 32."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
    for key, (kind, value) in kv.items():
        head += gguf_string(key) + struct.pack("<I", kind)
        if kind == GGUF_U32:
            head += struct.pack("<I", value)
        elif kind == GGUF_F32:
            head += struct.pack("<f", value)
        elif kind == GGUF_STRING:
            head += gguf_string(value)
        elif kind == GGUF_ARRAY:
            item_kind, items = value
            head += struct.pack("<IQ", item_kind, len(items))
            for it in items:
                head += gguf_string(it) if item_kind == GGUF_STRING else struct.pack("<i", it)
    blobs, offset = [], 0
    for name, t in tensors:
        data = t.detach().contiguous().numpy().astype("<f4").tobytes()
        ne = list(reversed(t.shape))  # ggml order: innermost dimension first
        head += gguf_string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        head += struct.pack("<IQ", 0, offset)  # type 0 = F32
        pad = -len(data) % 32
        blobs.append(data + b"\0" * pad)
        offset += len(data) + pad
    head += b"\0" * (-len(head) % 32)
    with open(path, "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)


def main():
    pth, out_dir = sys.argv[1], sys.argv[2]
    swap = "--swap-fused" in sys.argv[3:]
    state = torch.load(pth, map_location="cpu")
    state = {k: v.float() for k, v in state.items()}
    write_safetensors(state, f"{out_dir}/model.safetensors")

    C = state["emb.weight"].shape[1]
    V = state["emb.weight"].shape[0]
    n_layer = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks."))
    H, N = state["blocks.0.att.time_faaaa"].shape
    R = state["blocks.0.att.time_maa_w2"].shape[1]
    Rd = state["blocks.0.att.time_decay_w1"].shape[1]
    ffn = state["blocks.0.ffn.key.weight"].shape[0]
    tokens = [b"<s>"] + [repr(bytes([i]))[2:-1].encode() for i in range(1, V)]
    kv = {
        "general.architecture": (GGUF_STRING, "rwkv6"),
        "general.name": (GGUF_STRING, "rwkv6 reference (random weights)"),
        "rwkv6.context_length": (GGUF_U32, 1048576),
        "rwkv6.embedding_length": (GGUF_U32, C),
        "rwkv6.block_count": (GGUF_U32, n_layer),
        "rwkv6.attention.layer_norm_epsilon": (GGUF_F32, 1e-5),
        "rwkv6.rescale_every_n_layers": (GGUF_U32, 0),
        "rwkv6.wkv.head_size": (GGUF_U32, N),
        "rwkv6.time_mix_extra_dim": (GGUF_U32, R),
        "rwkv6.time_decay_extra_dim": (GGUF_U32, Rd),
        "rwkv6.feed_forward_length": (GGUF_U32, ffn),
        "general.file_type": (GGUF_U32, 0),
        "rwkv6.attention.head_count": (GGUF_U32, 0),
        "tokenizer.ggml.model": (GGUF_STRING, "rwkv"),
        "tokenizer.ggml.tokens": (GGUF_ARRAY, (GGUF_STRING, tokens)),
        "tokenizer.ggml.token_type": (GGUF_ARRAY, (GGUF_I32, [3] + [1] * (V - 1))),
    }
    for name, swapped in [("fused", False)] + ([("fused_swapped", True)] if swap else []):
        tensors = llamacpp_tensors(state, swapped)
        names = [n for n, _ in tensors]
        assert "blk.0.time_mix_lerp_fused.weight" in names and "blk.0.time_mix_lerp_w.weight" not in names
        assert list(dict(tensors)["blk.0.time_mix_lerp_fused.weight"].shape) == [5, 1, 1, C]
        write_gguf(f"{out_dir}/{name}.gguf", kv, tensors)
    print(f"wrote model.safetensors and fused.gguf: C {C}, {n_layer} layers, {H} heads of {N}, vocab {V}")


if __name__ == "__main__":
    main()
