// Per-target loops for the attention tile kernels of ops.h (AttentionScores,
// AttentionAccumulate). Re-included once per target by hwy/foreach_target.h via ops.cc.
// One call covers a tile of keys for all query heads that share a KV head (GQA group), so each
// key/value row is loaded (and widened from f16) once per tile for the whole group.

#if defined(FLOE_ATTENTION_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FLOE_ATTENTION_INL_H_
#undef FLOE_ATTENTION_INL_H_
#else
#define FLOE_ATTENTION_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "platform/kernels/ops-inl.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// The 16 horizontal sums of a[0..16) as one vector (lane j = sum of a[j]'s lanes): a transpose-
// and-add tree (45 instructions instead of 16 separate reductions).
HWY_INLINE __m512 HorizontalSums16(const __m512* a) {
  __m512 t[8], u[4];
  for (int j = 0; j < 8; ++j)  // per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3] of a = a[2j], b = a[2j+1]
    t[j] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * j], a[2 * j + 1]), _mm512_unpackhi_ps(a[2 * j], a[2 * j + 1]));
  for (int j = 0; j < 4; ++j) {  // per 128-bit lane: the lane's partial sums of keys 4j..4j+3
    const __m512d x = _mm512_castps_pd(t[2 * j]), y = _mm512_castps_pd(t[2 * j + 1]);
    u[j] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
  }
  const __m512 v01 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512 v23 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_add_ps(_mm512_shuffle_f32x4(v01, v23, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(v01, v23, _MM_SHUFFLE(3, 1, 3, 1)));
}
#endif

// scores[g * n + i] = scale * sum_c q[g * hd + c] * K_i[c], K_i = keys + i * stride (elements).
template <class W, class DF>
HWY_INLINE void AttentionScoresT(DF df, const float* HWY_RESTRICT q, size_t n_q, size_t hd,
                                 const typename W::T* HWY_RESTRICT keys, size_t stride, size_t n,
                                 float scale, float* HWY_RESTRICT scores) {
  const size_t N = hn::Lanes(df);
  const size_t vec = hd / N * N;
  size_t i0 = 0;
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if constexpr (sizeof(hn::Vec<DF>) == 64)  // full 512-bit vectors
  // 16 keys at a time, one accumulator per key, reduced together; a last partial group leaves
  // the missing keys' accumulators at zero. Each key's sum goes through the same tree whatever
  // its position, so a score does not depend on n or on where the tile starts.
  for (; i0 < n; i0 += 16) {
    const size_t m = n - i0 < 16 ? n - i0 : 16;
    for (size_t g = 0; g < n_q; ++g) {
      const float* qg = q + g * hd;
      __m512 a[16];
      for (int j = 0; j < 16; ++j) a[j] = _mm512_setzero_ps();
      size_t c = 0;
      for (; c < vec; c += N) {
        const auto qv = hn::LoadU(df, qg + c);
        for (size_t j = 0; j < m; ++j) a[j] = hn::MulAdd(qv, LoadWeights<W>(df, keys + (i0 + j) * stride + c), decltype(qv){a[j]}).raw;
      }
      if (c < hd) {
        const auto qv = LoadPadded<F32Weights>(df, qg + c, hd - c);
        for (size_t j = 0; j < m; ++j)
          a[j] = hn::MulAdd(qv, LoadPadded<W>(df, keys + (i0 + j) * stride + c, hd - c), decltype(qv){a[j]}).raw;
      }
      const __m512 sums = _mm512_mul_ps(HorizontalSums16(a), _mm512_set1_ps(scale));
      if (m == 16) _mm512_storeu_ps(scores + g * n + i0, sums);
      else _mm512_mask_storeu_ps(scores + g * n + i0, static_cast<__mmask16>((1u << m) - 1), sums);
    }
  }
#endif
  for (size_t i = i0; i < n; ++i) {
    const typename W::T* k = keys + i * stride;
    for (size_t g = 0; g < n_q; ++g) {
      const float* qg = q + g * hd;
      auto acc = hn::Zero(df);
      size_t c = 0;
      for (; c < vec; c += N) acc = hn::MulAdd(hn::LoadU(df, qg + c), LoadWeights<W>(df, k + c), acc);
      if (c < hd) acc = hn::MulAdd(LoadPadded<F32Weights>(df, qg + c, hd - c), LoadPadded<W>(df, k + c, hd - c), acc);
      scores[g * n + i] = ReduceSum(df, acc) * scale;
    }
  }
}

// out[g * hd + c] += sum_i p[g * n + i] * V_i[c] for kG heads g0..g0+kG and one vector of
// columns at c (len columns: a full vector, or the zero-padded tail): the kG accumulators stay
// in registers over all n values (no store/reload per value), added in order of i.
template <size_t kG, class W, class DF>
HWY_INLINE void AccumulateColumnsT(DF df, const float* HWY_RESTRICT p, size_t g0, size_t hd,
                                   const typename W::T* HWY_RESTRICT values, size_t stride, size_t n,
                                   size_t c, size_t len, float* HWY_RESTRICT out) {
  const size_t N = hn::Lanes(df);
  hn::Vec<DF> acc[kG];
  for (size_t g = 0; g < kG; ++g)
    acc[g] = len == N ? hn::LoadU(df, out + (g0 + g) * hd + c) : LoadPadded<F32Weights>(df, out + (g0 + g) * hd + c, len);
  for (size_t i = 0; i < n; ++i) {
    const typename W::T* v = values + i * stride + c;
    const auto vv = len == N ? LoadWeights<W>(df, v) : LoadPadded<W>(df, v, len);
    for (size_t g = 0; g < kG; ++g) acc[g] = hn::MulAdd(hn::Set(df, p[(g0 + g) * n + i]), vv, acc[g]);
  }
  for (size_t g = 0; g < kG; ++g) {
    if (len == N) hn::StoreU(acc[g], df, out + (g0 + g) * hd + c);
    else StorePartial(df, acc[g], out + (g0 + g) * hd + c, len);
  }
}

// out[g * hd + c] += sum_i p[g * n + i] * V_i[c]: per output element the same sequence of
// fused multiply-adds as a per-value loop (value 0 first), so the result does not depend on
// how heads and columns are grouped.
template <class W, class DF>
HWY_INLINE void AttentionAccumulateT(DF df, const float* HWY_RESTRICT p, size_t n_q, size_t hd,
                                     const typename W::T* HWY_RESTRICT values, size_t stride,
                                     size_t n, float* HWY_RESTRICT out) {
  const size_t N = hn::Lanes(df);
  for (size_t g0 = 0; g0 < n_q; g0 += 4) {
    const size_t ng = n_q - g0 < 4 ? n_q - g0 : 4;
    for (size_t c = 0; c < hd; c += N) {
      const size_t len = hd - c < N ? hd - c : N;
      switch (ng) {
        case 1: AccumulateColumnsT<1, W>(df, p, g0, hd, values, stride, n, c, len, out); break;
        case 2: AccumulateColumnsT<2, W>(df, p, g0, hd, values, stride, n, c, len, out); break;
        case 3: AccumulateColumnsT<3, W>(df, p, g0, hd, values, stride, n, c, len, out); break;
        default: AccumulateColumnsT<4, W>(df, p, g0, hd, values, stride, n, c, len, out); break;
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#endif  // FLOE_ATTENTION_INL_H_
