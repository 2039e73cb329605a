#include "models/block_transformer/gpt_neox_stack.h"

#include <cstring>

#include "attention/dense/dense_attention.h"
#include "platform/kernels/layer_norm.h"
#include "platform/kernels/ops.h"

namespace floe {

Status NeoxScratch::Init(const NeoxConfig& c, size_t n) {
  rows = n;
  const size_t D = c.hidden;
  FLOE_RETURN_IF_ERROR(buf.Resize(n * (D * 9 + c.ffn)));
  float* p = buf.data();
  auto take = [&](size_t m) {
    float* r = p;
    p += m;
    return r;
  };
  h = take(n * D);
  qkv = take(n * 3 * D);
  q = take(n * D);
  k = take(n * D);
  v = take(n * D);
  att = take(n * D);
  tmp = take(n * D);
  ffn = take(n * c.ffn);
  return Status::Ok();
}

void NeoxLinear(const TensorView& w, const float* bias, const float* x, size_t n, float* y,
                ThreadContext& threads) {
  if (n == 1)
    MatVec(w, x, y, &threads);
  else
    MatMul(w, x, n, y, &threads);
  if (bias != nullptr)
    for (size_t r = 0; r < n; ++r) Add(bias, y + r * w.rows, w.rows);
}

void NeoxForward(const NeoxConfig& c, const NeoxWeights& w, size_t n, float* x,
                 KvCache* const* caches, const size_t* pos, NeoxScratch& s,
                 ThreadContext& threads) {
  const size_t D = c.hidden, H = c.heads, hd = c.head_dim(), F = c.ffn;
  for (size_t l = 0; l < c.layers; ++l) {
    const NeoxLayerWeights& L = w.layers[l];
    // Attention branch on LN1(x).
    for (size_t r = 0; r < n; ++r) LayerNorm(x + r * D, L.ln1_w, L.ln1_b, D, c.ln_eps, s.h + r * D);
    NeoxLinear(L.qkv, L.qkv_b, s.h, n, s.qkv, threads);
    for (size_t r = 0; r < n; ++r) {
      // _split_heads: the fused rows are [head][q|k|v][head_dim].
      const float* row = s.qkv + r * 3 * D;
      float *q = s.q + r * D, *k = s.k + r * D, *v = s.v + r * D;
      for (size_t h = 0; h < H; ++h) {
        std::memcpy(q + h * hd, row + h * 3 * hd, hd * sizeof(float));
        std::memcpy(k + h * hd, row + h * 3 * hd + hd, hd * sizeof(float));
        std::memcpy(v + h * hd, row + h * 3 * hd + 2 * hd, hd * sizeof(float));
      }
      if (c.rot_dim > 0) {
        RopeHalfSplit(q, H, hd, c.rot_dim, pos[r], c.rope_base);
        RopeHalfSplit(k, H, hd, c.rot_dim, pos[r], c.rope_base);
      }
      caches[r]->Store(l, pos[r], k, v);
    }
    auto attend = [&](size_t r, ThreadContext* tc) {
      DenseAttentionArgs a;
      a.cache = caches[r];
      a.layer = l;
      a.n_heads = H;
      a.n_tokens = 1;
      a.first_pos = pos[r];
      a.q = s.q + r * D;
      a.out = s.att + r * D;
      DenseAttention(a, tc);
    };
    if (n == 1)
      attend(0, &threads);
    else
      threads.ParallelFor(n, 1, [&](size_t r0, size_t r1) {
        for (size_t r = r0; r < r1; ++r) attend(r, nullptr);
      });
    NeoxLinear(L.out, L.out_b, s.att, n, s.tmp, threads);
    // MLP branch on LN2(x), from the same x (parallel residual).
    for (size_t r = 0; r < n; ++r) LayerNorm(x + r * D, L.ln2_w, L.ln2_b, D, c.ln_eps, s.h + r * D);
    NeoxLinear(L.up, L.up_b, s.h, n, s.ffn, threads);
    GeluErf(s.ffn, n * F);
    NeoxLinear(L.down, L.down_b, s.ffn, n, s.att, threads);
    // hidden = mlp_output + attn_output + hidden (GPTNeoXLayer.forward).
    for (size_t i = 0; i < n * D; ++i) x[i] = s.att[i] + s.tmp[i] + x[i];
  }
  for (size_t r = 0; r < n; ++r) LayerNorm(x + r * D, w.final_w, w.final_b, D, c.ln_eps, x + r * D);
}

}  // namespace floe
