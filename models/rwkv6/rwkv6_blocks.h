// Pieces of the RWKV-6 (Finch, arXiv 2404.05892; BlinkDL x060 code) forward pass that other
// RWKV-6 derived architectures (GoldFinch's Finch-C2 layers) share: the LayerNorm as F.layer_norm
// computes it, a projection of one or many tokens, and the channel mix (cmix_x060).
#pragma once

#include <cstddef>

#include "platform/base/tensor.h"
#include "platform/base/thread_context.h"

namespace floe {

// out = (x - mean) / sqrt(var + eps) * w + b over n values (biased variance, as F.layer_norm).
// `out` may alias `x`.
void RwkvLayerNorm(const float* x, const float* w, const float* b, size_t n, float eps, float* out);

// y = W x for n tokens (rows of W.cols floats in, W.rows floats out).
void RwkvProject(const TensorView& w, const float* x, size_t n, float* y, ThreadContext& threads);

void TanhInPlace(float* x, size_t n);

// The token shift and data-dependent lerp (ddlerp) of tmix_x060 and tmix_x060c2 over n tokens of
// width C, on the LN1-normed input `xa`:
//   sx = xa_{t-1} - xa_t (xa_{-1} = *shift_in), xx = xa + sx * maa_x,
//   m_i = W2_i tanh(W1 xx), mixed[i] = xa + sx * (maa[i] + m_i) for i < 5;  *shift_out = xa_{n-1}.
// The five mixes come in the caller's order (maa[i] pairs with w2[i]); R = the LoRA rank.
struct RwkvDdlerpWeights {
  const float* maa_x = nullptr;
  const float* maa[5] = {};
  const TensorView* w1 = nullptr;  // [5R x C]
  const TensorView* w2 = nullptr;  // five [C x R]
};
// Scratch: sx holds n * C floats (the shift, kept for the caller), tmp n * C, h5 n * 5R, hs n * R.
struct RwkvDdlerpScratch {
  float *sx = nullptr, *tmp = nullptr, *h5 = nullptr, *hs = nullptr;
};
void RwkvDdlerp(const RwkvDdlerpWeights& w, size_t C, size_t R, size_t n, const float* xa,
                const float* shift_in, float* shift_out, float* const mixed[5],
                const RwkvDdlerpScratch& s, ThreadContext& threads);

// cmix_x060 over n tokens of width C:
//   sx = x_{t-1} - x_t (x = the LN2-normed input `xa`, x_{-1} = *shift_in),
//   k = relu(W_k (x + sx * maa_k))^2, r = sigmoid(W_r (x + sx * maa_r)),
//   residual += r * (W_v k);  *shift_out = x_{n-1}.
struct RwkvChannelMixWeights {
  const float *maa_k = nullptr, *maa_r = nullptr;
  const TensorView *key = nullptr, *receptance = nullptr,
                   *value = nullptr;  // [F x C] [C x C] [C x F]
};
// Scratch: xk, xr, r, tmp hold n * C floats each, ffn n * F floats.
struct RwkvChannelMixScratch {
  float *xk = nullptr, *xr = nullptr, *r = nullptr, *tmp = nullptr, *ffn = nullptr;
};
void RwkvChannelMix(const RwkvChannelMixWeights& w, size_t C, size_t F, size_t n, const float* xa,
                    const float* shift_in, float* shift_out, float* residual,
                    const RwkvChannelMixScratch& s, ThreadContext& threads);

}  // namespace floe
