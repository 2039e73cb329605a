#include "models/rwkv6/rwkv6_blocks.h"

#include <cmath>
#include <cstring>

#include "platform/kernels/ops.h"

namespace floe {

void RwkvLayerNorm(const float* x, const float* w, const float* b, size_t n, float eps,
                   float* out) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += x[i];
  const float mean = float(sum / double(n));
  double sq = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = double(x[i] - mean);
    sq += d * d;
  }
  const float inv = 1.0f / std::sqrt(float(sq / double(n)) + eps);
  for (size_t i = 0; i < n; ++i) out[i] = (x[i] - mean) * inv * w[i] + b[i];
}

void RwkvProject(const TensorView& w, const float* x, size_t n, float* y, ThreadContext& threads) {
  if (n == 1)
    MatVec(w, x, y, &threads);
  else
    MatMul(w, x, n, y, &threads);
}

void TanhInPlace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
}

void RwkvDdlerp(const RwkvDdlerpWeights& w, size_t C, size_t R, size_t n, const float* xa,
                const float* shift_in, float* shift_out, float* const mixed[5],
                const RwkvDdlerpScratch& s, ThreadContext& threads) {
  for (size_t t = 0; t < n; ++t) {
    const float* prev = t ? xa + (t - 1) * C : shift_in;
    const float* cur = xa + t * C;
    float* sx = s.sx + t * C;
    float* xx = s.tmp + t * C;
    for (size_t i = 0; i < C; ++i) {
      sx[i] = prev[i] - cur[i];
      xx[i] = cur[i] + sx[i] * w.maa_x[i];
    }
  }
  std::memcpy(shift_out, xa + (n - 1) * C, C * sizeof(float));
  RwkvProject(*w.w1, s.tmp, n, s.h5, threads);
  TanhInPlace(s.h5, n * 5 * R);
  for (size_t i = 0; i < 5; ++i) {
    for (size_t t = 0; t < n; ++t)
      std::memcpy(s.hs + t * R, s.h5 + t * 5 * R + i * R, R * sizeof(float));
    RwkvProject(w.w2[i], s.hs, n, s.tmp, threads);
    for (size_t t = 0; t < n; ++t) {
      const float *x = xa + t * C, *sx = s.sx + t * C, *m = s.tmp + t * C;
      float* out = mixed[i] + t * C;
      for (size_t j = 0; j < C; ++j) out[j] = x[j] + sx[j] * (w.maa[i][j] + m[j]);
    }
  }
}

void RwkvChannelMix(const RwkvChannelMixWeights& w, size_t C, size_t F, size_t n, const float* xa,
                    const float* shift_in, float* shift_out, float* residual,
                    const RwkvChannelMixScratch& s, ThreadContext& threads) {
  for (size_t t = 0; t < n; ++t) {
    const float* prev = t ? xa + (t - 1) * C : shift_in;
    const float* cur = xa + t * C;
    for (size_t i = 0; i < C; ++i) {
      const float sx = prev[i] - cur[i];
      s.xk[t * C + i] = cur[i] + sx * w.maa_k[i];
      s.xr[t * C + i] = cur[i] + sx * w.maa_r[i];
    }
  }
  std::memcpy(shift_out, xa + (n - 1) * C, C * sizeof(float));
  RwkvProject(*w.key, s.xk, n, s.ffn, threads);
  for (size_t i = 0; i < n * F; ++i) {
    const float a = s.ffn[i] > 0.0f ? s.ffn[i] : 0.0f;
    s.ffn[i] = a * a;
  }
  RwkvProject(*w.value, s.ffn, n, s.tmp, threads);
  RwkvProject(*w.receptance, s.xr, n, s.r, threads);
  for (size_t i = 0; i < n * C; ++i) residual[i] += s.tmp[i] / (1.0f + std::exp(-s.r[i]));
}

}  // namespace floe
