#!/usr/bin/env python3
"""Turns a trained llama2.c Llama into a RecurFormer (Yan et al. 2024, arXiv 2410.12850) on CPU:

1. measures each (layer, KV head)'s recency on training text: the attention mass its query
   heads put on the last W keys (RecurFormer's recency ratio; W = --recent, default 64),
2. replaces the --heads most recency-aware KV heads by one Mamba-1 block per layer (it reads the
   layer's normed attention input and writes the replaced heads' slots of the attention output,
   before the output projection: docs/models/recurformer.md),
3. continues training the whole network on the training text for --minutes,
4. reports held-out perplexity (the last 5% of the text, cut at a line boundary, never trained
   on) of the original and of the RecurFormer, and the KV cache bytes per token of both,
5. writes the RecurFormer GGUF (F32, with the SentencePiece vocabulary) and, for a parity check
   with floe, the first --check-tokens held-out token ids and this script's logits for them.

Debian's python3-torch and python3-numpy only; runs on CPU (--device cuda where there is one).

  /usr/bin/python3 samples/recurformer/train_recurformer.py \
      --model ../shared/data/models/llama2c/stories-long-2k.bin \
      --tokenizer ../shared/data/models/llama2c/tok512.bin \
      --text ../shared/data/corpora/war-and-peace.txt --out /tmp/recurformer.gguf --minutes 18
"""
import argparse
import json
import math
import os
import re
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_io  # noqa: E402


# ---------------------------------------------------------------- llama2.c files and tokenizer

def load_llama2c(path):
    """llama2.c's legacy export: 7 int32 header, then float32 arrays (run.c's order)."""
    data = open(path, "rb").read()
    dim, hidden, n_layers, n_heads, n_kv, vocab, seq = struct.unpack_from("<7i", data, 0)
    shared = vocab > 0
    vocab = abs(vocab)
    hd = dim // n_heads
    at = 28
    arr = np.frombuffer(data, dtype="<f4", offset=at)
    off = 0

    def take(*shape):
        nonlocal off
        n = int(np.prod(shape))
        a = arr[off:off + n].reshape(shape).copy()
        off += n
        return torch.from_numpy(a)

    w = {"emb": take(vocab, dim), "rms_att": take(n_layers, dim), "wq": take(n_layers, dim, dim),
         "wk": take(n_layers, n_kv * hd, dim), "wv": take(n_layers, n_kv * hd, dim),
         "wo": take(n_layers, dim, dim), "rms_ffn": take(n_layers, dim),
         "w1": take(n_layers, hidden, dim), "w2": take(n_layers, dim, hidden),
         "w3": take(n_layers, hidden, dim), "rms_final": take(dim)}
    off += seq * (hd // 2) * 2  # freq_cis_real, freq_cis_imag (recomputed from the formula)
    w["wcls"] = w["emb"] if shared else take(vocab, dim)
    cfg = dict(dim=dim, hidden=hidden, n_layers=n_layers, n_heads=n_heads, n_kv=n_kv,
               vocab=vocab, seq=seq, hd=hd, shared=shared)
    return cfg, w


def load_tokenizer(path):
    data = open(path, "rb").read()
    (max_len,) = struct.unpack_from("<i", data, 0)
    at, pieces, scores = 4, [], []
    while at < len(data):
        score, n = struct.unpack_from("<fi", data, at)
        at += 8
        pieces.append(data[at:at + n])
        scores.append(score)
        at += n
    return pieces, scores


class Encoder:
    """llama2.c run.c's encode(): a dummy-prefix space, codepoints looked up (byte fallback
    ids 3..258), then greedy merges of the highest-scoring adjacent pair. Applied per line
    (the merge loop is quadratic), the dummy prefix only at the start of the text."""

    def __init__(self, pieces, scores):
        self.ids = {p: i for i, p in enumerate(pieces)}
        self.scores = scores

    def encode_chunk(self, text):
        toks = []
        for ch in text:
            b = ch.encode("utf-8")
            if b in self.ids:
                toks.append(self.ids[b])
            else:
                toks.extend(x + 3 for x in b)
        inv = self.inv
        while True:
            best, best_i, best_id = -1e10, -1, -1
            for i in range(len(toks) - 1):
                m = self.ids.get(inv[toks[i]] + inv[toks[i + 1]])
                if m is not None and self.scores[m] > best:
                    best, best_i, best_id = self.scores[m], i, m
            if best_i < 0:
                break
            toks[best_i:best_i + 2] = [best_id]
        return toks

    def encode(self, text, bos=True):
        # Pieces never hold a space after their first character (SentencePiece's pieces start
        # a word with it), so words (with their leading spaces) are encoded once each.
        self.inv = {i: p for p, i in self.ids.items()}
        cache = {}
        out = [1] if bos else []
        lines = text.split("\n")
        for k, line in enumerate(lines):
            chunk = (" " if k == 0 else "") + line + ("\n" if k < len(lines) - 1 else "")
            for word in re.findall(r" *[^ ]+| +", chunk):
                if word not in cache:
                    cache[word] = self.encode_chunk(word)
                out.extend(cache[word])
        return out


# ---------------------------------------------------------------- the networks (float32)

def rms(x, g, eps=1e-5):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * g


def rope(x, base=10000.0):
    """(B, T, H, hd), interleaved pairs, positions 0..T-1."""
    T, hd = x.shape[1], x.shape[-1]
    freq = base ** (-torch.arange(0, hd, 2, dtype=torch.float32, device=x.device) / hd)
    ang = torch.arange(T, dtype=torch.float32, device=x.device)[:, None] * freq[None, :]
    c, s = torch.cos(ang)[None, :, None, :], torch.sin(ang)[None, :, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack([a * c - b * s, a * s + b * c], -1).flatten(-2)


class MambaMixer(nn.Module):
    """Mamba-1 (state-spaces/mamba Mamba, its initialisation) with output width d_out."""

    def __init__(self, d_model, d_out, d_inner, d_state=16, d_conv=4):
        super().__init__()
        self.Di, self.N, self.K = d_inner, d_state, d_conv
        self.R = math.ceil(d_model / 16)
        self.in_proj = nn.Linear(d_model, 2 * d_inner, bias=False)
        self.conv = nn.Parameter(torch.empty(d_inner, d_conv).uniform_(-d_conv ** -0.5,
                                                                         d_conv ** -0.5))
        self.conv_b = nn.Parameter(torch.zeros(d_inner))
        self.x_proj = nn.Linear(d_inner, self.R + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.R, d_inner, bias=True)
        nn.init.uniform_(self.dt_proj.weight, -self.R ** -0.5, self.R ** -0.5)
        dt = torch.exp(torch.rand(d_inner) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
        dt = dt.clamp(min=1e-4)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32))
                                  .repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = nn.Linear(d_inner, d_out, bias=False)
        with torch.no_grad():
            self.out_proj.weight.mul_(0.1)  # starts near zero: the replaced slots fade in

    def forward(self, h):
        B, T, _ = h.shape
        xi, z = self.in_proj(h).chunk(2, -1)
        u = F.conv1d(F.pad(xi.transpose(1, 2), (self.K - 1, 0)), self.conv[:, None, :],
                     self.conv_b, groups=self.Di).transpose(1, 2)
        u = F.silu(u)
        dt, Bm, Cm = self.x_proj(u).split([self.R, self.N, self.N], -1)
        delta = F.softplus(self.dt_proj(dt))
        A = -torch.exp(self.A_log)  # (Di, N)
        decay = torch.exp(delta[..., None] * A)  # (B, T, Di, N)
        inject = (delta * u)[..., None] * Bm[:, :, None, :]
        state = h.new_zeros(B, self.Di, self.N)
        hs = []
        # selective_scan_ref's recurrence, one step at a time (unbind: one backward for all steps,
        # where indexing step t would give each step a full-size zero gradient)
        for dt_, in_ in zip(decay.unbind(1), inject.unbind(1)):
            state = dt_ * state + in_
            hs.append(state)
        y = torch.einsum("btdn,btn->btd", torch.stack(hs, 1), Cm)
        y = y + u * self.D
        return self.out_proj(y * F.silu(z))

    def gguf(self, prefix):
        """The llama.cpp-named tensors RecurFormer's GGUF stores (ssm_a = -exp(A_log))."""
        return {prefix + "ssm_in.weight": self.in_proj.weight,
                prefix + "ssm_conv1d.weight": self.conv, prefix + "ssm_conv1d.bias": self.conv_b,
                prefix + "ssm_x.weight": self.x_proj.weight,
                prefix + "ssm_dt.weight": self.dt_proj.weight,
                prefix + "ssm_dt.bias": self.dt_proj.bias,
                prefix + "ssm_a": -torch.exp(self.A_log), prefix + "ssm_d": self.D,
                prefix + "ssm_out.weight": self.out_proj.weight}


class RecurFormer(nn.Module):
    """llama2.c's Llama; `recurrent[l]` lists the KV heads of layer l replaced by its mixer."""

    def __init__(self, cfg, w, recurrent, d_inner, d_state):
        super().__init__()
        self.cfg, self.recurrent = cfg, recurrent
        P = lambda t: nn.Parameter(t.clone())  # noqa: E731
        self.emb = P(w["emb"])
        self.wcls = self.emb if cfg["shared"] else P(w["wcls"])
        self.rms_final = P(w["rms_final"])
        self.layers = nn.ModuleList()
        G = cfg["n_heads"] // cfg["n_kv"]
        for l in range(cfg["n_layers"]):
            m = nn.Module()
            for k in ("rms_att", "wq", "wk", "wv", "wo", "rms_ffn", "w1", "w2", "w3"):
                setattr(m, k, P(w[k][l]))
            rec = recurrent[l]
            m.mixer = (MambaMixer(cfg["dim"], len(rec) * G * cfg["hd"], d_inner, d_state)
                       if rec else None)
            self.layers.append(m)

    def forward(self, tokens, attn_probe=None):
        c = self.cfg
        B, T = tokens.shape
        H, Hkv, hd = c["n_heads"], c["n_kv"], c["hd"]
        G = H // Hkv
        x = self.emb[tokens]
        for l, m in enumerate(self.layers):
            h = rms(x, m.rms_att)
            q = rope((h @ m.wq.T).view(B, T, H, hd)).transpose(1, 2)
            k = rope((h @ m.wk.T).view(B, T, Hkv, hd)).transpose(1, 2)
            v = (h @ m.wv.T).view(B, T, Hkv, hd).transpose(1, 2)
            k, v = k.repeat_interleave(G, 1), v.repeat_interleave(G, 1)
            if attn_probe is not None:
                s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
                s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
                a = torch.softmax(s, -1)
                attn_probe(l, a)
                att = a @ v
            else:
                att = F.scaled_dot_product_attention(q, k, v, is_causal=True) \
                    if hasattr(F, "scaled_dot_product_attention") else self._attend(q, k, v)
            att = att.transpose(1, 2)  # (B, T, H, hd)
            if m.mixer is not None:
                rep = [qh for qh in range(H) if qh // G in self.recurrent[l]]
                mo = m.mixer(h).view(B, T, len(rep), hd)
                att = att.clone()
                att[:, :, rep] = mo
            x = x + att.reshape(B, T, H * hd) @ m.wo.T
            h = rms(x, m.rms_ffn)
            x = x + (F.silu(h @ m.w1.T) * (h @ m.w3.T)) @ m.w2.T
        return rms(x, self.rms_final) @ self.wcls.T

    @staticmethod
    def _attend(q, k, v):
        T = q.shape[2]
        s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool, device=q.device), 1),
                          float("-inf"))
        return torch.softmax(s, -1) @ v


# ---------------------------------------------------------------- steps

def recency(model, windows, recent, first_query):
    """Per (layer, KV head): mean attention mass on the last `recent` keys (the query's own
    position included), over queries at positions >= first_query, averaged over the KV head's
    query heads."""
    c = model.cfg
    G = c["n_heads"] // c["n_kv"]
    acc = np.zeros((c["n_layers"], c["n_kv"]))

    def probe(l, a):  # a: (B, H, T, T)
        T = a.shape[-1]
        i = torch.arange(T)[:, None]
        j = torch.arange(T)[None, :]
        near = ((i - j) < recent) & (j <= i)
        mass = (a * near).sum(-1)[..., first_query:].mean((0, 2))  # (H,)
        acc[l] += mass.view(c["n_kv"], G).mean(1).numpy()

    with torch.no_grad():
        for wdw in windows:
            model(torch.tensor([wdw]), attn_probe=probe)
    return acc / len(windows)


def perplexity(model, tokens, window, device):
    """exp(mean NLL) over non-overlapping windows of the token stream (each from its start)."""
    total, count = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(tokens) - 1, window):
            chunk = tokens[s:s + window + 1]
            if len(chunk) < 2:
                break
            x = torch.tensor([chunk[:-1]], device=device)
            y = torch.tensor([chunk[1:]], device=device)
            logits = model(x)
            total += F.cross_entropy(logits[0], y[0], reduction="sum").item()
            count += y.numel()
    return math.exp(total / count), count


def write_gguf(path, model, cfg, pieces, scores, context):
    wr = gguf_io.Writer()
    k = "recurformer."
    wr.add("general.architecture", gguf_io.STRING, "recurformer")
    wr.add("general.name", gguf_io.STRING, "stories-long-2k recurformer (train_recurformer.py)")
    for key, val in (("context_length", context), ("embedding_length", cfg["dim"]),
                     ("block_count", cfg["n_layers"]), ("feed_forward_length", cfg["hidden"]),
                     ("attention.head_count", cfg["n_heads"]),
                     ("attention.head_count_kv", cfg["n_kv"]),
                     ("rope.dimension_count", cfg["hd"])):
        wr.add(k + key, gguf_io.U32, val)
    wr.add(k + "attention.layer_norm_rms_epsilon", gguf_io.F32, 1e-5)
    wr.add(k + "rope.freq_base", gguf_io.F32, 10000.0)
    mixers = [m.mixer for m in model.layers if m.mixer is not None]
    if mixers:
        m0 = mixers[0]
        wr.add(k + "ssm.inner_size", gguf_io.U32, m0.Di)
        wr.add(k + "ssm.state_size", gguf_io.U32, m0.N)
        wr.add(k + "ssm.conv_kernel", gguf_io.U32, m0.K)
        wr.add(k + "ssm.time_step_rank", gguf_io.U32, m0.R)
    for l, rec in enumerate(model.recurrent):
        if rec:
            wr.add(k + "blk.%d.recurrent_heads" % l, gguf_io.ARRAY, (gguf_io.I32, sorted(rec)))
    # The SentencePiece vocabulary as llama.cpp's GGUF holds it (spaces as U+2581).
    toks, types = [], []
    for i, p in enumerate(pieces):
        s = p.decode("utf-8", errors="replace")
        if i == 1 and s == "\n<s>\n":
            s = "<s>"
        elif i == 2 and s == "\n</s>\n":
            s = "</s>"
        else:
            s = s.replace(" ", "\u2581")
        toks.append(s)
        is_byte = len(s) == 6 and s.startswith("<0x") and s.endswith(">")
        types.append(2 if i == 0 else 3 if i in (1, 2) else 6 if is_byte else 1)
    wr.add("tokenizer.ggml.model", gguf_io.STRING, "llama")
    wr.add("tokenizer.ggml.tokens", gguf_io.ARRAY, (gguf_io.STRING, toks))
    wr.add("tokenizer.ggml.scores", gguf_io.ARRAY, (gguf_io.F32, [float(x) for x in scores]))
    wr.add("tokenizer.ggml.token_type", gguf_io.ARRAY, (gguf_io.I32, types))
    wr.add("tokenizer.ggml.bos_token_id", gguf_io.U32, 1)
    wr.add("tokenizer.ggml.eos_token_id", gguf_io.U32, 2)
    wr.add("tokenizer.ggml.unknown_token_id", gguf_io.U32, 0)
    t = lambda a: a.detach().cpu().float().numpy()  # noqa: E731
    wr.tensor("token_embd.weight", t(model.emb))
    for l, m in enumerate(model.layers):
        p = "blk.%d." % l
        for name, par in (("attn_norm.weight", m.rms_att), ("attn_q.weight", m.wq),
                          ("attn_k.weight", m.wk), ("attn_v.weight", m.wv),
                          ("attn_output.weight", m.wo), ("ffn_norm.weight", m.rms_ffn),
                          ("ffn_gate.weight", m.w1), ("ffn_down.weight", m.w2),
                          ("ffn_up.weight", m.w3)):
            wr.tensor(p + name, t(par))
        if m.mixer is not None:
            for name, par in m.mixer.gguf(p).items():
                wr.tensor(name, t(par))
    wr.tensor("output_norm.weight", t(model.rms_final))
    if not cfg["shared"]:
        wr.tensor("output.weight", t(model.wcls))
    wr.write(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--text", required=True)
    ap.add_argument("--out", required=True, help="RecurFormer GGUF to write")
    ap.add_argument("--heads", type=int, default=3, help="KV heads to replace (most recent-aware)")
    ap.add_argument("--recent", type=int, default=64, help="recency window W (keys)")
    ap.add_argument("--minutes", type=float, default=18.0, help="training time budget")
    ap.add_argument("--seq", type=int, default=512)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-3, help="peak lr of the mixers (rest: x0.2)")
    ap.add_argument("--d-inner", type=int, default=256)
    ap.add_argument("--d-state", type=int, default=16)
    ap.add_argument("--train-chars", type=int, default=1_200_000,
                    help="characters of the training text to tokenize (from its start)")
    ap.add_argument("--eval-window", type=int, default=2048)
    ap.add_argument("--eval-tokens", type=int, default=0,
                    help="held-out tokens to score (0: all; from the start of the held-out text)")
    ap.add_argument("--check-tokens", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)  # the scan's decaying state would otherwise go denormal
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    t0 = time.time()
    log = lambda *s: print("[%6.0fs]" % (time.time() - t0), *s, flush=True)  # noqa: E731

    cfg, w = load_llama2c(a.model)
    pieces, scores = load_tokenizer(a.tokenizer)
    enc = Encoder(pieces, scores)
    text = open(a.text, encoding="utf-8").read()
    cut = text.find("\n", int(len(text) * 0.95)) + 1  # the last 5%, at a line boundary
    held_all = enc.encode(text[cut:])
    held = held_all[:a.eval_tokens + 1] if a.eval_tokens else held_all
    train = enc.encode(text[:min(cut, a.train_chars)])
    log("tokens: train %d (of the first %d chars), held-out %d (scoring %d)" % (
        len(train), a.train_chars, len(held_all), len(held) - 1))

    base = RecurFormer(cfg, w, [[] for _ in range(cfg["n_layers"])], a.d_inner, a.d_state)
    windows = [train[s:s + 1024] for s in rng.integers(0, len(train) - 1024, size=2)]
    rec = recency(base, windows, a.recent, first_query=256)
    log("recency (mass on the last %d keys) per layer x KV head:\n%s" % (a.recent,
                                                                         np.round(rec, 3)))
    order = np.argsort(-rec, axis=None)[:a.heads]
    recurrent = [[] for _ in range(cfg["n_layers"])]
    for i in order:
        recurrent[int(i) // cfg["n_kv"]].append(int(i) % cfg["n_kv"])
    recurrent = [sorted(r) for r in recurrent]
    log("replaced KV heads per layer:", recurrent)

    ppl_base, n_eval = perplexity(base, held, a.eval_window, a.device)
    log("original held-out perplexity %.3f over %d tokens" % (ppl_base, n_eval))

    model = RecurFormer(cfg, w, recurrent, a.d_inner, a.d_state).to(a.device)
    ppl_start, _ = perplexity(model, held[:2049], a.eval_window, a.device)
    log("RecurFormer before training, first 2048 held-out tokens: perplexity %.3f" % ppl_start)
    mixer_params = [p for m in model.layers if m.mixer is not None for p in m.mixer.parameters()]
    ids = {id(p) for p in mixer_params}
    rest = [p for p in model.parameters() if id(p) not in ids]
    opt = torch.optim.AdamW([{"params": mixer_params, "lr": a.lr, "weight_decay": 0.0},
                             {"params": rest, "lr": a.lr * 0.2, "weight_decay": 0.0}],
                            betas=(0.9, 0.95))
    budget = a.minutes * 60
    start, step, ema = time.time(), 0, None
    while time.time() - start < budget:
        frac = (time.time() - start) / budget
        scale = min(1.0, (step + 1) / 10) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        opt.param_groups[0]["lr"] = a.lr * scale
        opt.param_groups[1]["lr"] = a.lr * 0.2 * scale
        starts = rng.integers(0, len(train) - a.seq - 1, size=a.batch)
        batch = torch.tensor(np.array([train[s:s + a.seq + 1] for s in starts]), device=a.device)
        logits = model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.9 * ema + 0.1 * loss.item()
        if step % 10 == 0 or step == 1:
            log("step %d loss %.3f (ema %.3f)" % (step, loss.item(), ema))
    train_s = time.time() - start
    model.eval()
    ppl_rf, _ = perplexity(model, held, a.eval_window, a.device)
    log("RecurFormer held-out perplexity %.3f after %d steps (%.0f s)" % (ppl_rf, step, train_s))

    model = model.cpu()
    write_gguf(a.out, model, cfg, pieces, scores, cfg["seq"])
    stem = os.path.splitext(a.out)[0]
    check = held[:a.check_tokens]
    with open(stem + ".tokens.txt", "w") as f:
        f.write("\n".join(str(x) for x in check) + "\n")
    with torch.no_grad():
        model(torch.tensor([check]))[0].numpy().astype("<f4").tofile(stem + ".torch-logits.f32")
    kv_tok = lambda n_kv: 2 * n_kv * cfg["hd"] * 4  # noqa: E731 (f32 keys + values per layer)
    base_bytes = cfg["n_layers"] * kv_tok(cfg["n_kv"])
    rf_bytes = sum(kv_tok(cfg["n_kv"] - len(r)) for r in recurrent)
    mixer_state = sum((m.mixer.K - 1 + m.mixer.N) * m.mixer.Di * 4
                      for m in model.layers if m.mixer is not None)
    summary = dict(replaced=recurrent, recency=np.round(rec, 4).tolist(), steps=step,
                   train_seconds=round(train_s), seq=a.seq, batch=a.batch,
                   heldout_tokens=n_eval, ppl_original=round(ppl_base, 3),
                   ppl_recurformer_untrained_first2k=round(ppl_start, 3),
                   ppl_recurformer=round(ppl_rf, 3), kv_bytes_per_token_original=base_bytes,
                   kv_bytes_per_token_recurformer=rf_bytes,
                   cache_saving=round(1 - rf_bytes / base_bytes, 4),
                   mixer_state_bytes=mixer_state, gguf=a.out)
    with open(stem + ".summary.json", "w") as f:
        json.dump(summary, f, indent=1)
    log(json.dumps(summary))


if __name__ == "__main__":
    main()
