// Highway dynamic dispatch for layer_norm.h (compiled once per target through
// hwy/foreach_target.h, as ops.cc).

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "platform/kernels/layer_norm.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cmath>

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {

namespace hn = hwy::HWY_NAMESPACE;

void LayerNormImpl(const float* x, const float* w, const float* b, size_t n, float eps,
                   float* out) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  // Pass 1: the mean.
  auto acc = hn::Zero(df);
  size_t i = 0;
  for (; i + N <= n; i += N) acc = hn::Add(acc, hn::LoadU(df, x + i));
  float sum = hn::GetLane(hn::SumOfLanes(df, acc));
  for (; i < n; ++i) sum += x[i];
  const float mean = sum / static_cast<float>(n);
  // Pass 2: the biased variance around it.
  const auto vmean = hn::Set(df, mean);
  acc = hn::Zero(df);
  for (i = 0; i + N <= n; i += N) {
    const auto d = hn::Sub(hn::LoadU(df, x + i), vmean);
    acc = hn::MulAdd(d, d, acc);
  }
  float sq = hn::GetLane(hn::SumOfLanes(df, acc));
  for (; i < n; ++i) sq += (x[i] - mean) * (x[i] - mean);
  const float inv = 1.0f / std::sqrt(sq / static_cast<float>(n) + eps);
  // Pass 3: normalise, scale, shift (each vector loaded before stored: out may alias x).
  const auto vinv = hn::Set(df, inv);
  for (i = 0; i + N <= n; i += N) {
    const auto y = hn::Mul(hn::Sub(hn::LoadU(df, x + i), vmean), vinv);
    hn::StoreU(hn::MulAdd(y, hn::LoadU(df, w + i), hn::LoadU(df, b + i)), df, out + i);
  }
  for (; i < n; ++i) out[i] = (x[i] - mean) * inv * w[i] + b[i];
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "platform/kernels/layer_norm.h"

namespace floe {

HWY_EXPORT(LayerNormImpl);

void LayerNorm(const float* x, const float* w, const float* b, size_t n, float eps, float* out) {
  HWY_DYNAMIC_DISPATCH(LayerNormImpl)(x, w, b, n, eps, out);
}

void GeluErf(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

}  // namespace floe
#endif  // HWY_ONCE
