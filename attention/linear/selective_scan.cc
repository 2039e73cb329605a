// The selective scan (selective_scan.h): the scalar reference, and the Highway kernel compiled
// once per target (hwy/foreach_target.h re-includes this file) and dispatched once per call.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "attention/linear/selective_scan.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "attention/linear/selective_scan.h"
#include "hwy/contrib/math/math-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Loads and stores of `lanes` floats: a full vector, or (the last partial vector of a range)
// through a zero-padded stack copy, so nothing outside the caller's arrays is read or written
// and every channel goes through the same vector arithmetic.
template <bool kTail>
struct Lanes {
  using DF = hn::ScalableTag<float>;
  DF df;
  size_t lanes;
  HWY_INLINE hn::Vec<DF> Load(const float* p) const {
    if constexpr (!kTail) {
      return hn::LoadU(df, p);
    } else {
      HWY_ALIGN float buf[HWY_LANES(float)] = {};
      for (size_t i = 0; i < lanes; ++i) buf[i] = p[i];
      return hn::Load(df, buf);
    }
  }
  HWY_INLINE void Store(hn::Vec<DF> v, float* p) const {
    if constexpr (!kTail) {
      hn::StoreU(v, df, p);
    } else {
      HWY_ALIGN float buf[HWY_LANES(float)];
      hn::Store(v, df, buf);
      for (size_t i = 0; i < lanes; ++i) p[i] = buf[i];
    }
  }
};

// Channels [d, d + lanes) of T tokens.
template <bool kTail>
HWY_INLINE void ScanBlock(const SelectiveScanArgs& a, size_t T, size_t d, size_t lanes) {
  const Lanes<kTail> io{hn::ScalableTag<float>(), lanes};
  const auto df = io.df;
  const size_t Di = a.d_inner, N = a.d_state;
  // exp's argument is clamped to [-88, 88]: Highway's Exp is specified on that range, and
  // exp(-88) is below every float the state could hold beside it.
  const auto lo = hn::Set(df, -88.0f), hi = hn::Set(df, 88.0f), one = hn::Set(df, 1.0f);
  const auto dskip = a.D ? io.Load(a.D + d) : hn::Zero(df);
  const auto dbias = a.delta_bias ? io.Load(a.delta_bias + d) : hn::Zero(df);
  const auto twenty = hn::Set(df, 20.0f);
  for (size_t t = 0; t < T; ++t) {
    auto dl = hn::Add(io.Load(a.delta + t * a.delta_stride + d), dbias);
    if (a.delta_softplus) {  // x > 20: x; else log1p(exp(x)), exp's argument clamped as below
      const auto sp = hn::Log1p(df, hn::Exp(df, hn::Min(hn::Max(dl, lo), twenty)));
      dl = hn::IfThenElse(hn::Gt(dl, twenty), dl, sp);
    }
    const auto u = io.Load(a.u + t * a.u_stride + d);
    const auto du = hn::Mul(dl, u);
    const float* B = a.B + t * a.bc_stride;
    const float* C = a.C + t * a.bc_stride;
    auto acc = hn::Zero(df);
    for (size_t n = 0; n < N; ++n) {
      float* hp = a.state + n * Di + d;
      const auto A = io.Load(a.A + n * Di + d);
      const auto dA = hn::Exp(df, hn::Min(hn::Max(hn::Mul(dl, A), lo), hi));
      const auto h = hn::MulAdd(dA, io.Load(hp), hn::Mul(du, hn::Set(df, B[n])));
      io.Store(h, hp);
      acc = hn::MulAdd(h, hn::Set(df, C[n]), acc);
    }
    auto y = hn::MulAdd(dskip, u, acc);
    if (a.z != nullptr) {
      const auto z = io.Load(a.z + t * a.z_stride + d);
      const auto e = hn::Exp(df, hn::Min(hn::Max(hn::Neg(z), lo), hi));
      y = hn::Mul(y, hn::Div(z, hn::Add(one, e)));
    }
    io.Store(y, a.y + t * a.y_stride + d);
  }
}

void SelectiveScanImpl(const SelectiveScanArgs& a, size_t T, size_t d0, size_t d1) {
  const size_t L = hn::Lanes(hn::ScalableTag<float>());
  size_t d = d0;
  for (; d + L <= d1; d += L) ScanBlock<false>(a, T, d, L);
  if (d < d1) ScanBlock<true>(a, T, d, d1 - d);
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cmath>

namespace floe {

HWY_EXPORT(SelectiveScanImpl);

void SelectiveScan(const SelectiveScanArgs& a, size_t T, size_t d0, size_t d1) {
  if (d0 >= d1 || T == 0) return;
  HWY_DYNAMIC_DISPATCH(SelectiveScanImpl)(a, T, d0, d1);
}

void SelectiveScanReference(const SelectiveScanArgs& a, size_t T, size_t d0, size_t d1) {
  const size_t Di = a.d_inner, N = a.d_state;
  for (size_t d = d0; d < d1; ++d) {
    for (size_t t = 0; t < T; ++t) {
      float dl = a.delta[t * a.delta_stride + d] + (a.delta_bias ? a.delta_bias[d] : 0.0f);
      if (a.delta_softplus) dl = dl > 20.0f ? dl : std::log1p(std::exp(dl));
      const float u = a.u[t * a.u_stride + d];
      const float du = dl * u;
      const float* B = a.B + t * a.bc_stride;
      const float* C = a.C + t * a.bc_stride;
      float acc = 0.0f;
      for (size_t n = 0; n < N; ++n) {
        float& h = a.state[n * Di + d];
        h = std::exp(dl * a.A[n * Di + d]) * h + du * B[n];
        acc += h * C[n];
      }
      float y = acc + (a.D ? a.D[d] * u : 0.0f);
      if (a.z != nullptr) {
        const float z = a.z[t * a.z_stride + d];
        y *= z / (1.0f + std::exp(-z));
      }
      a.y[t * a.y_stride + d] = y;
    }
  }
}

}  // namespace floe
#endif  // HWY_ONCE
