// The GOLD layer (tmix_gold.TMix_gold.forward, recursal/GoldFinch-paper) over the TokenCat cache.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "attention/dense/dense_attention.h"
#include "attention/knn/ice_attention.h"
#include "models/goldfinch/goldfinch_model.h"
#include "models/goldfinch/goldfinch_state.h"
#include "models/rwkv6/rwkv6_blocks.h"
#include "platform/kernels/ops.h"

namespace floe {

namespace {

// src/norm.py rms_norm: x / (||x|| / sqrt(n) + eps), in place.
void RmsNormNoWeight(float* x, size_t n, float eps) {
  double sq = 0.0;
  for (size_t i = 0; i < n; ++i) sq += double(x[i]) * double(x[i]);
  const float d = float(std::sqrt(sq) / std::sqrt(double(n))) + eps;
  for (size_t i = 0; i < n; ++i) x[i] /= d;
}

// Rows [0, n) of `out` = the rows of `h` (width `stride`) from column `col`, `width` wide.
void Slice(const float* h, size_t stride, size_t col, size_t width, size_t n, float* out) {
  for (size_t t = 0; t < n; ++t) std::memcpy(out + t * width, h + t * stride + col, width * 4);
}

}  // namespace

// Keys and values of positions [j0, j1), each from the cache rows of j and j - 1 (the official
// time_shift pads position -1 with zeros):
//   xo_j  = rms_norm(LN0(emb[id_j])),   kc_j = rms_norm(W_b [LN0(emb[id_j]); c_j])
//   [mk; mv] = kv_w2 · tanh(kv_w1 (xo_j + (xo_{j-1} - xo_j) * maa_v_cache))
//   k_j = LN_k(kk + key_w2 tanh(key_w1 kk)),   kk = kc_j + (kc_{j-1} - kc_j) * (maa_k + mk)
//   v_j = LN_v(vv + value_w2 tanh(value_w1 vv)), vv = xo_j + (xo_{j-1} - xo_j) * (maa_v + mv)
void GoldfinchModel::GoldKeysValues(State& s, size_t l, size_t j0, size_t j1,
                                    ThreadContext& threads) const {
  const GoldfinchConfig& c = net_.config;
  const GoldfinchWeights& w = net_.weights;
  const GoldWeights& L = w.layers[l].gold;
  const size_t C = c.n_embd, A = c.kv_a_dim, R = c.gold_lora_mix, Rk = c.gold_lora_value;
  const size_t nb = j1 - j0, CA = C + A;
  // Row r holds position j0 - 1 + r.
  for (size_t r = 0; r <= nb; ++r) {
    float* cat = s.kcat + r * CA;
    float* xo = s.kxo + r * C;
    if (j0 == 0 && r == 0) {
      std::fill(cat, cat + CA, 0.0f);
      std::fill(xo, xo + C, 0.0f);
      continue;
    }
    const size_t j = j0 - 1 + r;
    ToF32(w.emb, size_t(s.cache.id(j)) * C, C, cat);
    RwkvLayerNorm(cat, w.ln0_w, w.ln0_b, C, c.ln_eps, cat);
    s.cache.Read(j, cat + C);
    std::memcpy(xo, cat, C * sizeof(float));
    RmsNormNoWeight(xo, C, c.rms_eps);
  }
  RwkvProject(w.kv_cache_b, s.kcat, nb + 1, s.kc, threads);
  for (size_t r = 0; r <= nb; ++r) RmsNormNoWeight(s.kc + r * C, C, c.rms_eps);
  for (size_t i = 0; i < nb; ++i) {
    const float *cur = s.kxo + (i + 1) * C, *prev = s.kxo + i * C;
    float* out = s.kxxx + i * C;
    for (size_t e = 0; e < C; ++e) out[e] = cur[e] + (prev[e] - cur[e]) * L.maa_v_cache[e];
  }
  RwkvProject(L.kv_w1, s.kxxx, nb, s.kh, threads);
  TanhInPlace(s.kh, nb * 2 * R);
  Slice(s.kh, 2 * R, 0, R, nb, s.khs);
  RwkvProject(L.kv_w2[0], s.khs, nb, s.kmk, threads);
  Slice(s.kh, 2 * R, R, R, nb, s.khs);
  RwkvProject(L.kv_w2[1], s.khs, nb, s.kmv, threads);
  for (size_t i = 0; i < nb; ++i) {
    const float *kc = s.kc + (i + 1) * C, *kp = s.kc + i * C;
    const float *xo = s.kxo + (i + 1) * C, *xp = s.kxo + i * C;
    const float *mk = s.kmk + i * C, *mv = s.kmv + i * C;
    float *kk = s.kk + i * C, *vv = s.kvv + i * C;
    for (size_t e = 0; e < C; ++e) {
      kk[e] = kc[e] + (kp[e] - kc[e]) * (L.maa_k[e] + mk[e]);
      vv[e] = xo[e] + (xp[e] - xo[e]) * (L.maa_v[e] + mv[e]);
    }
  }
  RwkvProject(L.key_w1, s.kk, nb, s.khk, threads);
  TanhInPlace(s.khk, nb * Rk);
  RwkvProject(L.key_w2, s.khk, nb, s.ktmp, threads);
  Add(s.ktmp, s.kk, nb * C);
  RwkvProject(L.value_w1, s.kvv, nb, s.khk, threads);
  TanhInPlace(s.khk, nb * Rk);
  RwkvProject(L.value_w2, s.khk, nb, s.ktmp, threads);
  Add(s.ktmp, s.kvv, nb * C);
  for (size_t i = 0; i < nb; ++i) {
    RwkvLayerNorm(s.kk + i * C, L.ln_k_w, L.ln_k_b, C, c.ln_eps, s.kbuf + i * C);
    RwkvLayerNorm(s.kvv + i * C, L.ln_v_w, L.ln_v_b, C, c.ln_eps, s.vbuf + i * C);
  }
}

// The speed cache: the keys and values GoldKeysValues rebuilds, for positions [kv_rows, end)
// of every GOLD layer (after a restore kv_rows is 0: the whole context, once).
Status GoldfinchModel::FillSpeedCache(State& s, size_t end, ThreadContext& threads) const {
  const size_t F = net_.config.first_gold_layer, G = net_.config.n_gold();
  const size_t begin = std::min(s.kv_rows, s.pos);
  if (begin >= end) return Status::Ok();
  FLOE_RETURN_IF_ERROR(s.kv.Reserve(end, begin));
  const size_t C = net_.config.n_embd;
  for (size_t g = 0; g < G; ++g)
    for (size_t j0 = begin; j0 < end; j0 += State::kKeyBlock) {
      const size_t j1 = std::min(j0 + State::kKeyBlock, end);
      GoldKeysValues(s, F + g, j0, j1, threads);
      for (size_t j = j0; j < j1; ++j)
        s.kv.kv().Store(g, j, s.kbuf + (j - j0) * C, s.vbuf + (j - j0) * C);
    }
  s.kv_rows = end;
  return Status::Ok();
}

// Attention of s.gq over GOLD layer l's materialised keys and values: the dense kernels (one
// KV head per head, scale 1/sqrt(N), the GOLD scale), or IceFormer's kNN attention, whose index
// over layer l's keys grows as its searches need (ice::IndexLimit).
Status GoldfinchModel::GoldAttendCached(State& s, size_t l, size_t first, size_t n,
                                        ThreadContext& threads) const {
  const size_t g = l - net_.config.first_gold_layer;
  if (!s.knn) {
    DenseAttentionArgs a;
    a.cache = &s.kv.kv();
    a.layer = g;
    a.n_heads = net_.config.n_head;
    a.n_tokens = n;
    a.first_pos = first;
    a.q = s.gq;
    a.out = s.gatt;
    DenseAttention(a, &threads);
    return Status::Ok();
  }
  // Keys and candidates an interrupted call left past what positions [0, first) need belong
  // to tokens that were replaced: dropped (GOLD queries only move forward: first >= every
  // earlier call's queries).
  FLOE_RETURN_IF_ERROR(s.index.Truncate(g, ice::IndexLimit(s.options.attention, first)));
  s.shared.DropFrom(g, first);
  IceAttentionArgs a;
  a.cache = &s.kv.kv();
  a.index = &s.index;
  a.settings = &s.options.attention;
  a.layer = g;
  a.n_heads = net_.config.n_head;
  a.n_tokens = n;
  a.first_pos = first;
  a.q = s.gq;
  a.out = s.gatt;
  a.scratch = &s.ice_scratch;
  a.shared = &s.shared;
  return IceAttention(a, &threads);
}

// Without the speed cache: the keys and values of positions [0, first + n) rebuilt from the
// TokenCat cache block by block (GoldKeysValues), each query's softmax kept as a running max
// and sum (online softmax), so nothing of context length is allocated.
void GoldfinchModel::RebuildAndAttend(State& s, size_t l, size_t first, size_t n,
                                      ThreadContext& threads) const {
  const GoldfinchConfig& c = net_.config;
  const size_t C = c.n_embd, H = c.n_head, N = c.head_size;
  const float scale = 1.0f / std::sqrt(float(N));
  std::fill(s.gm, s.gm + n * H, -std::numeric_limits<float>::infinity());
  std::fill(s.gl, s.gl + n * H, 0.0f);
  std::fill(s.gatt, s.gatt + n * C, 0.0f);
  const size_t last = first + n - 1;
  for (size_t j0 = 0; j0 <= last; j0 += State::kKeyBlock) {
    const size_t j1 = std::min(j0 + State::kKeyBlock, last + 1);
    GoldKeysValues(s, l, j0, j1, threads);
    const size_t t0 = j0 > first ? j0 - first : 0;  // rows that see at least one key here
    threads.ParallelFor(n - t0, 1, [&](size_t a, size_t b) {
      for (size_t t = t0 + a; t < t0 + b; ++t) {
        const size_t jmax = std::min(j1, first + t + 1);
        for (size_t h = 0; h < H; ++h) {
          const float* q = s.gq + t * C + h * N;
          float* acc = s.gatt + t * C + h * N;
          float& mx = s.gm[t * H + h];
          float& sum = s.gl[t * H + h];
          for (size_t j = j0; j < jmax; ++j) {
            const float score = Dot(q, s.kbuf + (j - j0) * C + h * N, N) * scale;
            if (score > mx) {
              const float f = std::exp(mx - score);  // 0 when mx is -inf
              Scale(acc, f, N);
              sum *= f;
              mx = score;
            }
            const float e = std::exp(score - mx);
            sum += e;
            Axpy(e, s.vbuf + (j - j0) * C + h * N, acc, N);
          }
        }
      }
    });
  }
  for (size_t t = 0; t < n; ++t)
    for (size_t h = 0; h < H; ++h) Scale(s.gatt + t * C + h * N, 1.0f / s.gl[t * H + h], N);
}

// Queries with token shift and LoRA, then softmax attention of each query at position t over
// the keys [0, t] (lower-right causal: a query sees the whole cache up to itself, however the
// prompt was chunked). Without the speed cache the keys and values are rebuilt key block by key
// block with a running max and sum, so memory does not grow with the context; with it, the
// attention kernels read them (GoldAttendCached). Then LN_x over the whole width and the output
// projection.
Status GoldfinchModel::GoldTimeMix(State& s, size_t l, float* x, size_t first, size_t n,
                                   const float* shift_in, float* shift_out,
                                   ThreadContext& threads) const {
  const GoldfinchConfig& c = net_.config;
  const GoldfinchLayerWeights& LW = net_.weights.layers[l];
  const GoldWeights& L = LW.gold;
  const size_t C = c.n_embd, H = c.n_head, N = c.head_size, Rq = c.gold_lora_mix;
  for (size_t t = 0; t < n; ++t)
    RwkvLayerNorm(x + t * C, LW.ln1_w, LW.ln1_b, C, c.ln_eps, s.gxa + t * C);
  for (size_t t = 0; t < n; ++t) {
    const float* prev = t ? s.gxa + (t - 1) * C : shift_in;
    const float* cur = s.gxa + t * C;
    float* sx = s.gsx + t * C;
    float* xx = s.gtmp + t * C;
    for (size_t i = 0; i < C; ++i) {
      sx[i] = prev[i] - cur[i];
      xx[i] = cur[i] + sx[i] * L.maa_x[i];
    }
  }
  std::memcpy(shift_out, s.gxa + (n - 1) * C, C * sizeof(float));
  // mq = q_w2 tanh(q_w1 xxx); xq = x + sx * (maa_q + mq); q = LN_q(W_q xq).
  RwkvProject(L.q_w1, s.gtmp, n, s.gh, threads);
  TanhInPlace(s.gh, n * Rq);
  RwkvProject(L.q_w2, s.gh, n, s.gtmp, threads);
  for (size_t t = 0; t < n; ++t) {
    const float *xa = s.gxa + t * C, *sx = s.gsx + t * C;
    float* m = s.gtmp + t * C;
    for (size_t i = 0; i < C; ++i) m[i] = xa[i] + sx[i] * (L.maa_q[i] + m[i]);
  }
  RwkvProject(L.query, s.gtmp, n, s.gq, threads);
  for (size_t t = 0; t < n; ++t)
    RwkvLayerNorm(s.gq + t * C, L.ln_q_w, L.ln_q_b, C, c.ln_eps, s.gq + t * C);

  // Attention, F.scaled_dot_product_attention with scale 1/sqrt(N).
  if (s.kv_on) {
    FLOE_RETURN_IF_ERROR(GoldAttendCached(s, l, first, n, threads));
  } else {
    RebuildAndAttend(s, l, first, n, threads);
  }
  if (AttentionProbe* probe = s.options.attention_probe) {
    for (size_t t = 0; t < n; ++t)
      for (size_t h = 0; h < H; ++h)
        if (probe->Wants(l, h, first + t)) {
          AttentionProbeEvent e;
          e.layer = l;
          e.head = e.kv_head = h;
          e.position = first + t;
          e.q = s.gq + t * C + h * N;
          e.out = s.gatt + t * C + h * N;
          probe->Record(e);
        }
  }
  for (size_t t = 0; t < n; ++t)
    RwkvLayerNorm(s.gatt + t * C, L.ln_x_w, L.ln_x_b, C, c.ln_eps, s.gatt + t * C);
  RwkvProject(L.output, s.gatt, n, s.gtmp, threads);
  Add(s.gtmp, x, n * C);
  return Status::Ok();
}

}  // namespace floe
