// Per-target Highway loops for the vector kernels of ops.h (dot, axpy, norms, activations,
// softmax, RoPE, argmax) and the weight-loading helpers shared with matmul-inl.h.
// Re-included once per target by hwy/foreach_target.h; include it from a file that does that
// (see ops.cc). Everything here is a template or inline function in floe::HWY_NAMESPACE.
//
// Tails (n not a multiple of the lane count) go through a zero-padded stack copy of at most one
// vector, so every element is computed by the same vector arithmetic and nothing reads or
// writes past the caller's arrays.

#if defined(FLOE_OPS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FLOE_OPS_INL_H_
#undef FLOE_OPS_INL_H_
#else
#define FLOE_OPS_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "hwy/highway.h"
#include "hwy/contrib/math/math-inl.h"
#include "platform/base/dtype.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Upper bound on float lanes of this target, for stack buffers.
constexpr size_t kMaxLanesF32 = HWY_LANES(float);

// Highway 1.0.3 widens F16 with F16C on AVX2/AVX3; its emulation on the older targets maps
// Inf/NaN to finite values, so those targets use the exact bit conversion below instead.
#undef FLOE_F16_BITWISE
#if HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3 || HWY_TARGET == HWY_EMU128 || \
    HWY_TARGET == HWY_SCALAR
#define FLOE_F16_BITWISE 1
#else
#define FLOE_F16_BITWISE 0
#endif

// ------------------------------ weight element types

// Tags for the element type a weight pointer holds. `T` is the storage type, Scalar() the exact
// widening of one element (used only where a single element is needed).
struct F32Weights {
  using T = float;
  static float Scalar(float v) { return v; }
};
struct F16Weights {
  using T = uint16_t;  // IEEE binary16 bits
  static float Scalar(uint16_t v) { return F16ToF32(v); }
};
struct BF16Weights {
  using T = uint16_t;  // bfloat16 bits
  static float Scalar(uint16_t v) { return BF16ToF32(v); }
};

// Widens Lanes(df) halves (zero-extended to u32 lanes) to float, exactly, Inf/NaN included.
template <class DF>
HWY_INLINE hn::Vec<DF> F16BitsToF32(DF df, hn::Vec<hn::RebindToUnsigned<DF>> bits) {
  const hn::RebindToUnsigned<DF> du;
  const hn::RebindToSigned<DF> di;
  const auto sign = hn::ShiftLeft<16>(hn::And(bits, hn::Set(du, 0x8000u)));
  const auto exp = hn::And(hn::ShiftRight<10>(bits), hn::Set(du, 0x1Fu));
  const auto mant = hn::And(bits, hn::Set(du, 0x3FFu));
  const auto normal =
      hn::Or(hn::ShiftLeft<23>(hn::Add(exp, hn::Set(du, 127u - 15u))), hn::ShiftLeft<13>(mant));
  const auto inf_nan = hn::Or(hn::Set(du, 0x7F800000u), hn::ShiftLeft<13>(mant));
  // Subnormal (or zero): mant * 2^-24, exact in float.
  const auto subnormal = hn::BitCast(
      du, hn::Mul(hn::ConvertTo(df, hn::BitCast(di, mant)), hn::Set(df, 1.0f / 16777216.0f)));
  auto mag = hn::IfThenElse(hn::Eq(exp, hn::Set(du, 0x1Fu)), inf_nan, normal);
  mag = hn::IfThenElse(hn::Eq(exp, hn::Zero(du)), subnormal, mag);
  return hn::BitCast(df, hn::Or(sign, mag));
}

// Loads Lanes(df) weights starting at p and widens them to float.
template <class W, class DF>
HWY_INLINE hn::Vec<DF> LoadWeights(DF df, const float* HWY_RESTRICT p) {
  static_assert(std::is_same_v<W, F32Weights>);
  return hn::LoadU(df, p);
}
template <class W, class DF>
HWY_INLINE hn::Vec<DF> LoadWeights(DF df, const uint16_t* HWY_RESTRICT p) {
  const hn::Rebind<uint16_t, DF> du16;
  const hn::RebindToUnsigned<DF> du32;
  if constexpr (std::is_same_v<W, BF16Weights>) {
    return hn::BitCast(df, hn::ShiftLeft<16>(hn::PromoteTo(du32, hn::LoadU(du16, p))));
  } else {
    static_assert(std::is_same_v<W, F16Weights>);
#if FLOE_F16_BITWISE
    return F16BitsToF32(df, hn::PromoteTo(du32, hn::LoadU(du16, p)));
#else
    const hn::Rebind<hwy::float16_t, DF> df16;
    return hn::PromoteTo(df, hn::BitCast(df16, hn::LoadU(du16, p)));
#endif
  }
}

// Loads `count` < Lanes(df) elements (widened) into a vector, remaining lanes = `pad`.
template <class W, class DF>
HWY_INLINE hn::Vec<DF> LoadPadded(DF df, const typename W::T* HWY_RESTRICT p, size_t count,
                                  float pad = 0.0f) {
  HWY_ALIGN float buf[kMaxLanesF32];
  const size_t n = hn::Lanes(df);
  for (size_t i = 0; i < n; ++i) buf[i] = i < count ? W::Scalar(p[i]) : pad;
  return hn::Load(df, buf);
}

// Stores the first `count` < Lanes(df) lanes of v to p.
template <class DF>
HWY_INLINE void StorePartial(DF df, hn::Vec<DF> v, float* HWY_RESTRICT p, size_t count) {
  HWY_ALIGN float buf[kMaxLanesF32];
  hn::Store(v, df, buf);
  std::memcpy(p, buf, count * sizeof(float));
}

template <class DF>
HWY_INLINE float ReduceSum(DF df, hn::Vec<DF> v) {
  return hn::GetLane(hn::SumOfLanes(df, v));
}

// ------------------------------ dot / axpy / scale / add

// sum a[i] * b[i] with four independent accumulators.
template <class W, class DF>
HWY_INLINE float DotT(DF df, const float* HWY_RESTRICT a, const typename W::T* HWY_RESTRICT b,
                      size_t n) {
  const size_t N = hn::Lanes(df);
  auto s0 = hn::Zero(df), s1 = hn::Zero(df), s2 = hn::Zero(df), s3 = hn::Zero(df);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    s0 = hn::MulAdd(hn::LoadU(df, a + i), LoadWeights<W>(df, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(df, a + i + N), LoadWeights<W>(df, b + i + N), s1);
    s2 = hn::MulAdd(hn::LoadU(df, a + i + 2 * N), LoadWeights<W>(df, b + i + 2 * N), s2);
    s3 = hn::MulAdd(hn::LoadU(df, a + i + 3 * N), LoadWeights<W>(df, b + i + 3 * N), s3);
  }
  for (; i + N <= n; i += N) {
    s0 = hn::MulAdd(hn::LoadU(df, a + i), LoadWeights<W>(df, b + i), s0);
  }
  if (i < n) {
    s1 = hn::MulAdd(LoadPadded<F32Weights>(df, a + i, n - i), LoadPadded<W>(df, b + i, n - i), s1);
  }
  return ReduceSum(df, hn::Add(hn::Add(s0, s1), hn::Add(s2, s3)));
}

// y += alpha * x.
template <class W, class DF>
HWY_INLINE void AxpyT(DF df, float alpha, const typename W::T* HWY_RESTRICT x,
                      float* HWY_RESTRICT y, size_t n) {
  const size_t N = hn::Lanes(df);
  const auto va = hn::Set(df, alpha);
  size_t i = 0;
  for (; i + N <= n; i += N) {
    hn::StoreU(hn::MulAdd(va, LoadWeights<W>(df, x + i), hn::LoadU(df, y + i)), df, y + i);
  }
  if (i < n) {
    const auto r =
        hn::MulAdd(va, LoadPadded<W>(df, x + i, n - i), LoadPadded<F32Weights>(df, y + i, n - i));
    StorePartial(df, r, y + i, n - i);
  }
}

// x = f(x) elementwise (in place), f maps a vector to a vector.
template <class DF, class F>
HWY_INLINE void MapInPlace(DF df, float* x, size_t n, const F& f) {
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(f(hn::LoadU(df, x + i)), df, x + i);
  if (i < n) StorePartial(df, f(LoadPadded<F32Weights>(df, x + i, n - i)), x + i, n - i);
}

// y = f(a, y) elementwise (in place on y).
template <class DF, class F>
HWY_INLINE void ZipInPlace(DF df, const float* a, float* y, size_t n, const F& f) {
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N) hn::StoreU(f(hn::LoadU(df, a + i), hn::LoadU(df, y + i)), df, y + i);
  if (i < n) {
    const auto r =
        f(LoadPadded<F32Weights>(df, a + i, n - i), LoadPadded<F32Weights>(df, y + i, n - i));
    StorePartial(df, r, y + i, n - i);
  }
}

template <class DF>
HWY_INLINE void ScaleT(DF df, float* x, float s, size_t n) {
  const auto vs = hn::Set(df, s);
  MapInPlace(df, x, n, [&](hn::Vec<DF> v) HWY_ATTR { return hn::Mul(v, vs); });
}

template <class DF>
HWY_INLINE void AddT(DF df, const float* a, float* y, size_t n) {
  ZipInPlace(df, a, y, n, [](hn::Vec<DF> va, hn::Vec<DF> vy) HWY_ATTR { return hn::Add(vy, va); });
}

// ------------------------------ RmsNorm

// llama2.c: ss = sum x^2 / n + eps; scale = 1/sqrtf(ss); out = weight * (scale * x).
template <class DF>
HWY_INLINE void RmsNormT(DF df, const float* x, const float* weight, size_t n, float eps,
                         float* out) {
  const float ss = DotT<F32Weights>(df, x, x, n);
  const float scale = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
  const auto vs = hn::Set(df, scale);
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  // out may alias x: each vector is loaded before it is stored.
  for (; i + N <= n; i += N) {
    hn::StoreU(hn::Mul(hn::LoadU(df, weight + i), hn::Mul(vs, hn::LoadU(df, x + i))), df, out + i);
  }
  if (i < n) {
    const auto r = hn::Mul(LoadPadded<F32Weights>(df, weight + i, n - i),
                           hn::Mul(vs, LoadPadded<F32Weights>(df, x + i, n - i)));
    StorePartial(df, r, out + i, n - i);
  }
}

// ------------------------------ Softmax, SiLU, SwiGLU

template <class DF>
HWY_INLINE void SoftmaxT(DF df, float* x, size_t n) {
  const size_t N = hn::Lanes(df);
  const float kNegInf = -std::numeric_limits<float>::infinity();
  auto vmax = hn::Set(df, kNegInf);
  size_t i = 0;
  for (; i + N <= n; i += N) vmax = hn::Max(vmax, hn::LoadU(df, x + i));
  if (i < n) vmax = hn::Max(vmax, LoadPadded<F32Weights>(df, x + i, n - i, kNegInf));
  const auto vm = hn::MaxOfLanes(df, vmax);
  // exp(x - max); padding lanes are -inf and contribute exp(-inf) = 0 to the sum.
  auto sum0 = hn::Zero(df), sum1 = hn::Zero(df);
  i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    const auto e0 = hn::Exp(df, hn::Sub(hn::LoadU(df, x + i), vm));
    const auto e1 = hn::Exp(df, hn::Sub(hn::LoadU(df, x + i + N), vm));
    hn::StoreU(e0, df, x + i);
    hn::StoreU(e1, df, x + i + N);
    sum0 = hn::Add(sum0, e0);
    sum1 = hn::Add(sum1, e1);
  }
  for (; i + N <= n; i += N) {
    const auto e = hn::Exp(df, hn::Sub(hn::LoadU(df, x + i), vm));
    hn::StoreU(e, df, x + i);
    sum0 = hn::Add(sum0, e);
  }
  if (i < n) {
    const auto e = hn::Exp(df, hn::Sub(LoadPadded<F32Weights>(df, x + i, n - i, kNegInf), vm));
    StorePartial(df, e, x + i, n - i);
    sum1 = hn::Add(sum1, e);
  }
  const float inv = 1.0f / ReduceSum(df, hn::Add(sum0, sum1));
  ScaleT(df, x, inv, n);
}

// x * sigmoid(x) = x / (1 + exp(-x)). exp's argument is clamped to <= 88 so it stays finite
// (x < -88 then gives about x * 2^-127 instead of a denormal: an absolute error below 1e-36).
template <class DF>
HWY_INLINE hn::Vec<DF> SiluV(DF df, hn::Vec<DF> v) {
  const auto e = hn::Exp(df, hn::Neg(hn::Max(v, hn::Set(df, -88.0f))));
  return hn::Div(v, hn::Add(hn::Set(df, 1.0f), e));
}

template <class DF>
HWY_INLINE void SiluT(DF df, float* x, size_t n) {
  MapInPlace(df, x, n, [&](hn::Vec<DF> v) HWY_ATTR { return SiluV(df, v); });
}

template <class DF>
HWY_INLINE void SwiGluT(DF df, float* gate, const float* up, size_t n) {
  ZipInPlace(df, up, gate, n,
             [&](hn::Vec<DF> u, hn::Vec<DF> g) HWY_ATTR { return hn::Mul(SiluV(df, g), u); });
}

// ------------------------------ Argmax

// First index of the maximum; NaNs are skipped (x[0] NaN => 0, like the scalar loop).
template <class DF>
HWY_INLINE size_t ArgmaxT(DF df, const float* x, size_t n) {
  if (!(x[0] == x[0])) return 0;
  const size_t N = hn::Lanes(df);
  const auto neg_inf = hn::Set(df, -std::numeric_limits<float>::infinity());
  auto vmax = neg_inf;
  size_t i = 0;
  for (; i + N <= n; i += N) {
    const auto v = hn::LoadU(df, x + i);
    vmax = hn::Max(vmax, hn::IfThenElse(hn::Eq(v, v), v, neg_inf));
  }
  if (i < n) {
    const auto v =
        LoadPadded<F32Weights>(df, x + i, n - i, -std::numeric_limits<float>::infinity());
    vmax = hn::Max(vmax, hn::IfThenElse(hn::Eq(v, v), v, neg_inf));
  }
  const auto vm = hn::MaxOfLanes(df, vmax);
  const float m = hn::GetLane(vm);
  for (i = 0; i + N <= n; i += N) {
    const auto eq = hn::Eq(hn::LoadU(df, x + i), vm);
    if (!hn::AllFalse(df, eq)) return i + static_cast<size_t>(hn::FindFirstTrue(df, eq));
  }
  for (; i < n; ++i) {
    if (x[i] == m) return i;
  }
  return 0;  // unreachable: m is one of the non-NaN elements
}

// ------------------------------ RoPE

// Pairs whose cos/sin are tabulated at once (stack tables of 2 * 2 * kRopeChunk floats).
constexpr size_t kRopeChunk = 128;

// llama2.c's angle for pair i, bit for bit: pos * (1.0f / powf(base, 2i / (float)rot_dim)).
HWY_INLINE void RopeCosSin(size_t i, size_t rot_dim, size_t pos, float freq_base, float* c,
                           float* s) {
  const float freq =
      1.0f / std::pow(freq_base, static_cast<float>(2 * i) / static_cast<float>(rot_dim));
  const float angle = static_cast<float>(pos) * freq;
  *c = std::cos(angle);
  *s = std::sin(angle);
}

// Rotates the first rot_dim dims of each head with the pairs' cos and sin from
// cos_sin(i, &c, &s) (pair i < rot_dim/2), tabulated kRopeChunk pairs at a time.
template <class DF, class CosSinOf>
HWY_INLINE void RopeInterleavedWithT(DF df, float* x, size_t n_heads, size_t head_dim,
                                     size_t rot_dim, const CosSinOf& cos_sin) {
  const size_t N = hn::Lanes(df);
  const size_t pairs = rot_dim / 2;
  // cos2 = [c0, c0, c1, c1, ...], sin2 = [-s0, s0, -s1, s1, ...]:
  // rotated = x * cos2 + swap_pairs(x) * sin2.
  HWY_ALIGN float cos2[2 * kRopeChunk];
  HWY_ALIGN float sin2[2 * kRopeChunk];
  for (size_t p0 = 0; p0 < pairs; p0 += kRopeChunk) {
    const size_t np = pairs - p0 < kRopeChunk ? pairs - p0 : kRopeChunk;
    for (size_t i = 0; i < np; ++i) {
      float c, s;
      cos_sin(p0 + i, &c, &s);
      cos2[2 * i] = cos2[2 * i + 1] = c;
      sin2[2 * i] = -s;
      sin2[2 * i + 1] = s;
    }
    for (size_t h = 0; h < n_heads; ++h) {
      float* v = x + h * head_dim + 2 * p0;
      size_t j = 0;
#if HWY_TARGET != HWY_SCALAR
      for (; j + N <= 2 * np; j += N) {
        const auto xv = hn::LoadU(df, v + j);
        const auto r = hn::MulAdd(hn::Shuffle2301(xv), hn::Load(df, sin2 + j),
                                  hn::Mul(xv, hn::Load(df, cos2 + j)));
        hn::StoreU(r, df, v + j);
      }
#endif
      (void)N;
      for (; j < 2 * np; j += 2) {
        const float v0 = v[j], v1 = v[j + 1], c = cos2[j], s = sin2[j + 1];
        v[j] = v0 * c - v1 * s;
        v[j + 1] = v0 * s + v1 * c;
      }
    }
  }
}

template <class DF, class CosSinOf>
HWY_INLINE void RopeHalfSplitWithT(DF df, float* x, size_t n_heads, size_t head_dim,
                                   size_t rot_dim, const CosSinOf& cos_sin) {
  const size_t N = hn::Lanes(df);
  const size_t half = rot_dim / 2;
  HWY_ALIGN float cs[kRopeChunk];
  HWY_ALIGN float sn[kRopeChunk];
  for (size_t p0 = 0; p0 < half; p0 += kRopeChunk) {
    const size_t np = half - p0 < kRopeChunk ? half - p0 : kRopeChunk;
    for (size_t i = 0; i < np; ++i) cos_sin(p0 + i, cs + i, sn + i);
    for (size_t h = 0; h < n_heads; ++h) {
      float* lo = x + h * head_dim + p0;
      float* hi = lo + half;
      size_t j = 0;
      for (; j + N <= np; j += N) {
        const auto l = hn::LoadU(df, lo + j);
        const auto u = hn::LoadU(df, hi + j);
        const auto c = hn::Load(df, cs + j);
        const auto s = hn::Load(df, sn + j);
        hn::StoreU(hn::NegMulAdd(u, s, hn::Mul(l, c)), df, lo + j);
        hn::StoreU(hn::MulAdd(l, s, hn::Mul(u, c)), df, hi + j);
      }
      for (; j < np; ++j) {
        const float v0 = lo[j], v1 = hi[j];
        lo[j] = v0 * cs[j] - v1 * sn[j];
        hi[j] = v0 * sn[j] + v1 * cs[j];
      }
    }
  }
}

template <class DF>
HWY_INLINE void RopeInterleavedT(DF df, float* x, size_t n_heads, size_t head_dim, size_t rot_dim,
                                 size_t pos, float freq_base) {
  RopeInterleavedWithT(df, x, n_heads, head_dim, rot_dim, [&](size_t i, float* c, float* s) {
    RopeCosSin(i, rot_dim, pos, freq_base, c, s);
  });
}

template <class DF>
HWY_INLINE void RopeHalfSplitT(DF df, float* x, size_t n_heads, size_t head_dim, size_t rot_dim,
                               size_t pos, float freq_base) {
  RopeHalfSplitWithT(df, x, n_heads, head_dim, rot_dim, [&](size_t i, float* c, float* s) {
    RopeCosSin(i, rot_dim, pos, freq_base, c, s);
  });
}

// Given tables: cos[i], sin[i] for pair i.
template <class DF>
HWY_INLINE void RopeInterleavedCosSinT(DF df, float* x, size_t n_heads, size_t head_dim,
                                       size_t rot_dim, const float* cos, const float* sin) {
  RopeInterleavedWithT(df, x, n_heads, head_dim, rot_dim, [&](size_t i, float* c, float* s) {
    *c = cos[i];
    *s = sin[i];
  });
}

template <class DF>
HWY_INLINE void RopeHalfSplitCosSinT(DF df, float* x, size_t n_heads, size_t head_dim,
                                     size_t rot_dim, const float* cos, const float* sin) {
  RopeHalfSplitWithT(df, x, n_heads, head_dim, rot_dim, [&](size_t i, float* c, float* s) {
    *c = cos[i];
    *s = sin[i];
  });
}

// ------------------------------ decayed products (linear-attention / WKV chunk forms)

// sum_i a[i] * b[i] * exp(log_decay[i]).
template <class DF>
HWY_INLINE float DecayedDotT(DF df, const float* HWY_RESTRICT a, const float* HWY_RESTRICT b,
                             const float* HWY_RESTRICT ld, size_t n) {
  const size_t N = hn::Lanes(df);
  auto s0 = hn::Zero(df), s1 = hn::Zero(df);
  size_t i = 0;
  for (; i + 2 * N <= n; i += 2 * N) {
    s0 = hn::MulAdd(hn::Mul(hn::LoadU(df, a + i), hn::LoadU(df, b + i)),
                    hn::Exp(df, hn::LoadU(df, ld + i)), s0);
    s1 = hn::MulAdd(hn::Mul(hn::LoadU(df, a + i + N), hn::LoadU(df, b + i + N)),
                    hn::Exp(df, hn::LoadU(df, ld + i + N)), s1);
  }
  for (; i + N <= n; i += N)
    s0 = hn::MulAdd(hn::Mul(hn::LoadU(df, a + i), hn::LoadU(df, b + i)),
                    hn::Exp(df, hn::LoadU(df, ld + i)), s0);
  if (i < n) {
    const auto ab =
        hn::Mul(LoadPadded<F32Weights>(df, a + i, n - i), LoadPadded<F32Weights>(df, b + i, n - i));
    s1 = hn::MulAdd(ab, hn::Exp(df, LoadPadded<F32Weights>(df, ld + i, n - i)), s1);
  }
  return ReduceSum(df, hn::Add(s0, s1));
}

// out[i] = x[i] * exp(log_decay[i]); out may alias x.
template <class DF>
HWY_INLINE void ExpScaleT(DF df, const float* x, const float* HWY_RESTRICT ld, float* out,
                          size_t n) {
  const size_t N = hn::Lanes(df);
  size_t i = 0;
  for (; i + N <= n; i += N)
    hn::StoreU(hn::Mul(hn::LoadU(df, x + i), hn::Exp(df, hn::LoadU(df, ld + i))), df, out + i);
  if (i < n) {
    const auto v = hn::Mul(LoadPadded<F32Weights>(df, x + i, n - i),
                           hn::Exp(df, LoadPadded<F32Weights>(df, ld + i, n - i)));
    StorePartial(df, v, out + i, n - i);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#endif  // FLOE_OPS_INL_H_
