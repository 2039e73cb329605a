#!/usr/bin/env python3
"""RecurFormer reference forward in float64 (PyTorch), from the model's definition
(docs/models/recurformer.md; Yan et al. 2024, arXiv 2410.12850; the Llama block of llama2.c's
run.c; the Mamba-1 block of state-spaces/mamba's Mamba.forward slow path with
selective_scan_ref), written apart from floe's C++: reads a RecurFormer GGUF (F32/F16 tensors),
runs the tokens, and compares floe's logits (float32 rows of vocab_size) with its own.

usage: recurformer_reference.py MODEL.gguf TOKENS.txt [--floe LOGITS.f32 ...] [--tol 1e-4]
       [--write REF.f32]
Exit status 1 when any floe file differs from the reference by more than --tol (max abs).
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "samples", "recurformer"))
import gguf_io  # noqa: E402

T64 = torch.float64


def rms_norm(x, g, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * g


def rope_interleaved(x, pos, rot, base):
    """x: (T, H, hd); rotates pairs (x[2i], x[2i+1]) of the first `rot` dims by pos * base^(-2i/rot)."""
    i = torch.arange(0, rot, 2, dtype=T64)
    freq = base ** (-i / rot)
    ang = pos[:, None].to(T64) * freq[None, :]  # (T, rot/2)
    c, s = torch.cos(ang)[:, None, :], torch.sin(ang)[:, None, :]
    y = x.clone()
    a, b = x[..., 0:rot:2], x[..., 1:rot:2]
    y[..., 0:rot:2] = a * c - b * s
    y[..., 1:rot:2] = a * s + b * c
    return y


def mamba_mixer(h, W):
    """Mamba-1 on (T, D) normed input: in_proj, causal depthwise conv + SiLU, x_proj, dt_proj +
    softplus, sequential selective scan (A = ssm_a, which stores -exp(A_log)), D skip, SiLU(z)
    gate, out_proj."""
    T = h.shape[0]
    xz = h @ W["in"].T
    Di = xz.shape[1] // 2
    xi, z = xz[:, :Di], xz[:, Di:]
    K = W["conv_w"].shape[-1]
    conv_w = W["conv_w"].reshape(Di, K)
    padded = torch.cat([torch.zeros(K - 1, Di, dtype=T64), xi], 0)
    u = torch.stack([(padded[t:t + K].T * conv_w).sum(1) for t in range(T)]) + W["conv_b"]
    u = F.silu(u)
    xdbl = u @ W["x"].T
    R = W["dt_w"].shape[1]
    N = W["a"].shape[1]
    dt, B, C = xdbl[:, :R], xdbl[:, R:R + N], xdbl[:, R + N:]
    delta = F.softplus(dt @ W["dt_w"].T + W["dt_b"])
    A = W["a"]
    state = torch.zeros(Di, N, dtype=T64)
    ys = []
    for t in range(T):
        state = torch.exp(delta[t][:, None] * A) * state + (delta[t] * u[t])[:, None] * B[t][None, :]
        ys.append(state @ C[t] + W["d"] * u[t])
    y = torch.stack(ys) * F.silu(z)
    return y @ W["out"].T


def forward(g, tokens):
    kv = lambda k, d=None: g.get("recurformer." + k, d)  # noqa: E731
    t = {k: torch.tensor(np.asarray(v, dtype=np.float64)) for k, v in g.tensors.items()}
    D = kv("embedding_length")
    L = kv("block_count")
    H = kv("attention.head_count")
    Hkv = kv("attention.head_count_kv", H)
    hd = kv("attention.key_length", D // H)
    rot = kv("rope.dimension_count", hd)
    base = kv("rope.freq_base", 10000.0)
    eps = kv("attention.layer_norm_rms_epsilon", 1e-5)
    G = H // Hkv
    n = len(tokens)
    pos = torch.arange(n)
    x = t["token_embd.weight"][torch.tensor(tokens)]
    mask = torch.triu(torch.full((n, n), float("-inf"), dtype=T64), 1)
    for l in range(L):
        p = "blk.%d." % l
        rec = set(kv("blk.%d.recurrent_heads" % l, []) or [])
        h = rms_norm(x, t[p + "attn_norm.weight"], eps)
        q = rope_interleaved((h @ t[p + "attn_q.weight"].T).view(n, H, hd), pos, rot, base)
        k = rope_interleaved((h @ t[p + "attn_k.weight"].T).view(n, Hkv, hd), pos, rot, base)
        v = (h @ t[p + "attn_v.weight"].T).view(n, Hkv, hd)
        heads = []
        for qh in range(H):
            g_ = qh // G
            s = (q[:, qh] @ k[:, g_].T) / math.sqrt(hd) + mask
            heads.append(torch.softmax(s, -1) @ v[:, g_])
        if rec:
            W = {"in": t[p + "ssm_in.weight"], "conv_w": t[p + "ssm_conv1d.weight"],
                 "conv_b": t[p + "ssm_conv1d.bias"], "x": t[p + "ssm_x.weight"],
                 "dt_w": t[p + "ssm_dt.weight"], "dt_b": t[p + "ssm_dt.bias"],
                 "a": t[p + "ssm_a"], "d": t[p + "ssm_d"], "out": t[p + "ssm_out.weight"]}
            m = mamba_mixer(h, W)
            replaced = [qh for qh in range(H) if qh // G in rec]
            for i, qh in enumerate(replaced):
                heads[qh] = m[:, i * hd:(i + 1) * hd]
        x = x + torch.cat(heads, 1) @ t[p + "attn_output.weight"].T
        h = rms_norm(x, t[p + "ffn_norm.weight"], eps)
        x = x + (F.silu(h @ t[p + "ffn_gate.weight"].T) * (h @ t[p + "ffn_up.weight"].T)) @ \
            t[p + "ffn_down.weight"].T
    out = t.get("output.weight", t["token_embd.weight"])
    return rms_norm(x, t["output_norm.weight"], eps) @ out.T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("tokens")
    ap.add_argument("--floe", nargs="*", default=[])
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--write")
    a = ap.parse_args()
    g = gguf_io.Gguf(a.model)
    if g.get("general.architecture") != "recurformer":
        sys.exit("not a recurformer GGUF")
    if g.skipped:
        sys.exit("tensors of types the reference does not read (F32/F16 only): %s" % g.skipped[:3])
    tokens = [int(s) for s in open(a.tokens).read().split()]
    with torch.no_grad():
        ref = forward(g, tokens).numpy()
    if a.write:
        ref.astype("<f4").tofile(a.write)
    worst = 0.0
    for path in a.floe:
        got = np.fromfile(path, dtype="<f4")
        if got.size != ref.size:
            print("%s: %d values, the reference has %d" % (path, got.size, ref.size))
            return 1
        d = float(np.abs(got.reshape(ref.shape) - ref).max())
        print("%s: max |floe - reference| = %.3g (logits up to %.3g)" % (path, d,
                                                                          float(np.abs(ref).max())))
        worst = max(worst, d)
    if worst > a.tol:
        print("FAIL: %.3g > tolerance %.3g" % (worst, a.tol))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
