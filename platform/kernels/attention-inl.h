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
#include <algorithm>
#include <limits>

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
  for (int j = 0; j < 8;
       ++j)  // per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3] of a = a[2j], b = a[2j+1]
    t[j] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * j], a[2 * j + 1]),
                         _mm512_unpackhi_ps(a[2 * j], a[2 * j + 1]));
  for (int j = 0; j < 4; ++j) {  // per 128-bit lane: the lane's partial sums of keys 4j..4j+3
    const __m512d x = _mm512_castps_pd(t[2 * j]), y = _mm512_castps_pd(t[2 * j + 1]);
    u[j] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)),
                         _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
  }
  const __m512 v01 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_f32x4(u[0], u[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512 v23 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(2, 0, 2, 0)),
                                   _mm512_shuffle_f32x4(u[2], u[3], _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_add_ps(_mm512_shuffle_f32x4(v01, v23, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(v01, v23, _MM_SHUFFLE(3, 1, 3, 1)));
}
#endif

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// The scores of kG query rows against m <= 16 / kG keys starting at key i0, one 16-lane
// reduction tree for all of them: accumulator g * (16 / kG) + j holds (row g, key j); a partial
// group (m < 16 / kG) repeats its last key in the spare slots, whose sums are dropped. Each key
// row is loaded (and widened from f16) once for the kG rows. Every score is the same sequence of
// fused multiply-adds over the columns followed by the same tree whatever its accumulator slot,
// so it does not depend on kG, m, n or where the tile starts.
template <size_t kG, class W, class DF>
HWY_INLINE __m512 ScoresTreeT(DF df, const float* HWY_RESTRICT q, size_t hd,
                              const typename W::T* const* kp) {
  constexpr size_t kK = 16 / kG;
  const size_t N = hn::Lanes(df);
  const size_t vec = hd / N * N;
  using V = hn::Vec<DF>;
  __m512 a[16];
  for (size_t j = 0; j < 16; ++j) a[j] = _mm512_setzero_ps();
  size_t c = 0;
  for (; c < vec; c += N) {
    V kv[kK];
    for (size_t j = 0; j < kK; ++j) kv[j] = LoadWeights<W>(df, kp[j] + c);
    for (size_t g = 0; g < kG; ++g) {
      const V qv = hn::LoadU(df, q + g * hd + c);
      for (size_t j = 0; j < kK; ++j) a[g * kK + j] = hn::MulAdd(qv, kv[j], V{a[g * kK + j]}).raw;
    }
  }
  if (c < hd) {
    V kv[kK];
    for (size_t j = 0; j < kK; ++j) kv[j] = LoadPadded<W>(df, kp[j] + c, hd - c);
    for (size_t g = 0; g < kG; ++g) {
      const V qv = LoadPadded<F32Weights>(df, q + g * hd + c, hd - c);
      for (size_t j = 0; j < kK; ++j) a[g * kK + j] = hn::MulAdd(qv, kv[j], V{a[g * kK + j]}).raw;
    }
  }
  return HorizontalSums16(a);
}

template <size_t kG, class W, class DF>
HWY_INLINE void ScoresBlockT(DF df, const float* HWY_RESTRICT q, size_t hd,
                             const typename W::T* HWY_RESTRICT keys, size_t stride, size_t i0,
                             size_t m, float scale, float* HWY_RESTRICT scores, size_t n) {
  constexpr size_t kK = 16 / kG;
  const typename W::T* kp[kK];
  for (size_t j = 0; j < kK; ++j) kp[j] = keys + (i0 + (j < m ? j : m - 1)) * stride;
  const __m512 sums = _mm512_mul_ps(ScoresTreeT<kG, W>(df, q, hd, kp), _mm512_set1_ps(scale));
  // Row g's scores are lanes [g * kK, g * kK + m).
  float* out = scores + i0;
  if constexpr (kG == 1) {
    _mm512_mask_storeu_ps(out, static_cast<__mmask16>((1u << m) - 1), sums);
  } else if constexpr (kG == 2) {
    const __mmask8 mask = static_cast<__mmask8>((1u << m) - 1);
    _mm256_mask_storeu_ps(out, mask, _mm512_castps512_ps256(sums));
    _mm256_mask_storeu_ps(out + n, mask, _mm512_extractf32x8_ps(sums, 1));
  } else {
    static_assert(kG == 4, "row blocks of 1, 2 or 4");
    const __mmask8 mask = static_cast<__mmask8>((1u << m) - 1);
    _mm_mask_storeu_ps(out, mask, _mm512_castps512_ps128(sums));
    _mm_mask_storeu_ps(out + n, mask, _mm512_extractf32x4_ps(sums, 1));
    _mm_mask_storeu_ps(out + 2 * n, mask, _mm512_extractf32x4_ps(sums, 2));
    _mm_mask_storeu_ps(out + 3 * n, mask, _mm512_extractf32x4_ps(sums, 3));
  }
}
#endif

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
// Rows [g, g + kG) against all n keys, 16 / kG keys per reduction tree.
template <size_t kG, class W, class DF>
HWY_INLINE void ScoresRowsT(DF df, const float* HWY_RESTRICT q, size_t hd,
                            const typename W::T* HWY_RESTRICT keys, size_t stride, size_t n,
                            float scale, float* HWY_RESTRICT scores) {
  constexpr size_t kK = 16 / kG;
  for (size_t i = 0; i < n; i += kK)
    ScoresBlockT<kG, W>(df, q, hd, keys, stride, i, n - i < kK ? n - i : kK, scale, scores, n);
}
#endif

// q . k over hd columns, one vector accumulator (the targets without the reduction trees).
template <class W, class DF>
HWY_INLINE float RowDotT(DF df, const float* HWY_RESTRICT q, const typename W::T* HWY_RESTRICT k,
                         size_t hd) {
  const size_t N = hn::Lanes(df);
  const size_t vec = hd / N * N;
  auto acc = hn::Zero(df);
  size_t c = 0;
  for (; c < vec; c += N) acc = hn::MulAdd(hn::LoadU(df, q + c), LoadWeights<W>(df, k + c), acc);
  if (c < hd)
    acc = hn::MulAdd(LoadPadded<F32Weights>(df, q + c, hd - c), LoadPadded<W>(df, k + c, hd - c),
                     acc);
  return ReduceSum(df, acc);
}

// scores[g * n + i] = scale * sum_c q[g * hd + c] * K_i[c], K_i = keys + i * stride (elements).
template <class W, class DF>
HWY_INLINE void AttentionScoresT(DF df, const float* HWY_RESTRICT q, size_t n_q, size_t hd,
                                 const typename W::T* HWY_RESTRICT keys, size_t stride, size_t n,
                                 float scale, float* HWY_RESTRICT scores) {
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if constexpr (sizeof(hn::Vec<DF>) ==
                64) {  // full 512-bit vectors: rows in blocks of 4, then 2, 1
    size_t g = 0;
    for (; g + 4 <= n_q; g += 4)
      ScoresRowsT<4, W>(df, q + g * hd, hd, keys, stride, n, scale, scores + g * n);
    for (; g + 2 <= n_q; g += 2)
      ScoresRowsT<2, W>(df, q + g * hd, hd, keys, stride, n, scale, scores + g * n);
    for (; g < n_q; ++g)
      ScoresRowsT<1, W>(df, q + g * hd, hd, keys, stride, n, scale, scores + g * n);
    return;
  }
#endif
  for (size_t i = 0; i < n; ++i)
    for (size_t g = 0; g < n_q; ++g)
      scores[g * n + i] = RowDotT<W>(df, q + g * hd, keys + i * stride, hd) * scale;
}

// scores[i] = scale * q . K_{rows[i]}, K_r = keys + r * stride (elements): one query row
// against scattered key rows (the candidates of a kNN search). 16 rows per reduction tree;
// the rows 32 ahead are prefetched (they are scattered over the cache, so no hardware
// prefetcher can guess them).
template <class W, class DF>
HWY_INLINE void AttentionScoresGatherT(DF df, const float* HWY_RESTRICT q, size_t hd,
                                       const typename W::T* HWY_RESTRICT keys, size_t stride,
                                       const uint32_t* HWY_RESTRICT rows, size_t n, float scale,
                                       float* HWY_RESTRICT scores) {
  constexpr size_t kAhead = 32;
  const size_t row_bytes = hd * sizeof(typename W::T);
  auto prefetch = [&](size_t i) {
    const char* p = reinterpret_cast<const char*>(keys + size_t(rows[i]) * stride);
    for (size_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(p + off);
  };
  for (size_t i = 0; i < n && i < kAhead; ++i) prefetch(i);
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
  if constexpr (sizeof(hn::Vec<DF>) == 64) {
    for (size_t i0 = 0; i0 < n; i0 += 16) {
      const size_t m = n - i0 < 16 ? n - i0 : 16;
      for (size_t j = i0 + kAhead; j < i0 + kAhead + 16 && j < n; ++j) prefetch(j);
      const typename W::T* kp[16];
      for (size_t j = 0; j < 16; ++j)
        kp[j] = keys + size_t(rows[i0 + (j < m ? j : m - 1)]) * stride;
      const __m512 sums = _mm512_mul_ps(ScoresTreeT<1, W>(df, q, hd, kp), _mm512_set1_ps(scale));
      _mm512_mask_storeu_ps(scores + i0, static_cast<__mmask16>((1u << m) - 1), sums);
    }
    return;
  }
#endif
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) prefetch(i + kAhead);
    scores[i] = RowDotT<W>(df, q, keys + size_t(rows[i]) * stride, hd) * scale;
  }
}

// Up to 16 query rows against scattered key rows, key-major: out[i * 16 + g] = scale * sum_c
// qt[c * 16 + g] * K_{rows[i]}[c] (qt: the queries transposed, 16 columns). Four keys at a time
// are widened into a small buffer once; then every column broadcasts their four elements against
// the queries' 16-lane column: four independent fused multiply-add chains, no horizontal sums.
// Each score is the plain sum over c in order (whatever its key's slot in the group of four).
template <class W>
HWY_INLINE void AttentionScoresGather16T(const float* HWY_RESTRICT qt, size_t hd,
                                         const typename W::T* HWY_RESTRICT keys, size_t stride,
                                         const uint32_t* HWY_RESTRICT rows, size_t n, float scale,
                                         float* HWY_RESTRICT out) {
  const hn::CappedTag<float, 16> df;
  using V = hn::Vec<decltype(df)>;
  const size_t N = hn::Lanes(df);
  constexpr size_t kMaxVecs = 16;  // 16 / N vectors hold one row of 16 scores
  const size_t nv = 16 / N;
  constexpr size_t kKeys = 4, kChunk = 64, kAhead = 32;
  const size_t row_bytes = hd * sizeof(typename W::T);
  auto prefetch = [&](size_t i) {
    const char* p = reinterpret_cast<const char*>(keys + size_t(rows[i]) * stride);
    for (size_t off = 0; off < row_bytes; off += 64) __builtin_prefetch(p + off);
  };
  for (size_t i = 0; i < n && i < kAhead; ++i) prefetch(i);
  HWY_ALIGN float kf[kKeys][kChunk];
  for (size_t i0 = 0; i0 < n; i0 += kKeys) {
    const size_t m = n - i0 < kKeys ? n - i0 : kKeys;
    for (size_t j = i0 + kAhead; j < i0 + kAhead + kKeys && j < n; ++j) prefetch(j);
    const typename W::T* kp[kKeys];
    for (size_t j = 0; j < kKeys; ++j)
      kp[j] = keys + size_t(rows[i0 + (j < m ? j : m - 1)]) * stride;
    V acc[kKeys][kMaxVecs];
    for (size_t j = 0; j < kKeys; ++j)
      for (size_t v = 0; v < nv; ++v) acc[j][v] = hn::Zero(df);
    for (size_t c0 = 0; c0 < hd; c0 += kChunk) {
      const size_t len = hd - c0 < kChunk ? hd - c0 : kChunk;
      for (size_t j = 0; j < kKeys; ++j) {
        size_t c = 0;
        for (; c + N <= len; c += N) hn::Store(LoadWeights<W>(df, kp[j] + c0 + c), df, kf[j] + c);
        for (; c < len; ++c) kf[j][c] = W::Scalar(kp[j][c0 + c]);
      }
      for (size_t c = 0; c < len; ++c) {
        const float* qc = qt + (c0 + c) * 16;
        for (size_t v = 0; v < nv; ++v) {
          const V qv = hn::LoadU(df, qc + v * N);
          for (size_t j = 0; j < kKeys; ++j)
            acc[j][v] = hn::MulAdd(hn::Set(df, kf[j][c]), qv, acc[j][v]);
        }
      }
    }
    const V sv = hn::Set(df, scale);
    for (size_t j = 0; j < m; ++j)
      for (size_t v = 0; v < nv; ++v)
        hn::StoreU(hn::Mul(acc[j][v], sv), df, out + (i0 + j) * 16 + v * N);
  }
}

// out[g * hd + c] += sum_i p[g * n + i] * V_i[c] for kG heads g0..g0+kG and one vector of
// columns at c (len columns: a full vector, or the zero-padded tail): the kG accumulators stay
// in registers over all n values (no store/reload per value), added in order of i.
template <size_t kG, class W, class DF>
HWY_INLINE void AccumulateColumnsT(DF df, const float* HWY_RESTRICT p, size_t g0, size_t hd,
                                   const typename W::T* HWY_RESTRICT values, size_t stride,
                                   size_t n, size_t c, size_t len, float* HWY_RESTRICT out) {
  const size_t N = hn::Lanes(df);
  hn::Vec<DF> acc[kG];
  for (size_t g = 0; g < kG; ++g)
    acc[g] = len == N ? hn::LoadU(df, out + (g0 + g) * hd + c)
                      : LoadPadded<F32Weights>(df, out + (g0 + g) * hd + c, len);
  for (size_t i = 0; i < n; ++i) {
    const typename W::T* v = values + i * stride + c;
    const auto vv = len == N ? LoadWeights<W>(df, v) : LoadPadded<W>(df, v, len);
    for (size_t g = 0; g < kG; ++g)
      acc[g] = hn::MulAdd(hn::Set(df, p[(g0 + g) * n + i]), vv, acc[g]);
  }
  for (size_t g = 0; g < kG; ++g) {
    if (len == N)
      hn::StoreU(acc[g], df, out + (g0 + g) * hd + c);
    else
      StorePartial(df, acc[g], out + (g0 + g) * hd + c, len);
  }
}

// out[g * hd + c] += sum_i p[g * n + i] * V_i[c] for kG heads g0..g0+kG and kC full vectors of
// columns from c0: kG x kC accumulators in registers, each value row's vectors loaded (and
// widened) once for the kG heads, values taken in order of i.
template <size_t kG, size_t kC, class W, class DF>
HWY_INLINE void AccumulateBlockT(DF df, const float* HWY_RESTRICT p, size_t g0, size_t hd,
                                 const typename W::T* HWY_RESTRICT values, size_t stride, size_t n,
                                 size_t c0, float* HWY_RESTRICT out) {
  const size_t N = hn::Lanes(df);
  using V = hn::Vec<DF>;
  V acc[kG][kC];
  for (size_t g = 0; g < kG; ++g)
    for (size_t v = 0; v < kC; ++v) acc[g][v] = hn::LoadU(df, out + (g0 + g) * hd + c0 + v * N);
  const float* pg[kG];
  for (size_t g = 0; g < kG; ++g) pg[g] = p + (g0 + g) * n;
  for (size_t i = 0; i < n; ++i) {
    const typename W::T* row = values + i * stride + c0;
    V vv[kC];
    for (size_t v = 0; v < kC; ++v) vv[v] = LoadWeights<W>(df, row + v * N);
    for (size_t g = 0; g < kG; ++g) {
      const V pv = hn::Set(df, pg[g][i]);
      for (size_t v = 0; v < kC; ++v) acc[g][v] = hn::MulAdd(pv, vv[v], acc[g][v]);
    }
  }
  for (size_t g = 0; g < kG; ++g)
    for (size_t v = 0; v < kC; ++v) hn::StoreU(acc[g][v], df, out + (g0 + g) * hd + c0 + v * N);
}

template <size_t kG, class W, class DF>
HWY_INLINE void AccumulateHeadsT(DF df, const float* HWY_RESTRICT p, size_t g0, size_t hd,
                                 const typename W::T* HWY_RESTRICT values, size_t stride, size_t n,
                                 float* HWY_RESTRICT out) {
  const size_t N = hn::Lanes(df);
  const size_t full = hd / N;  // full column vectors, in blocks of up to 4
  size_t v = 0;
  for (; v + 4 <= full; v += 4)
    AccumulateBlockT<kG, 4, W>(df, p, g0, hd, values, stride, n, v * N, out);
  switch (full - v) {
    case 3:
      AccumulateBlockT<kG, 3, W>(df, p, g0, hd, values, stride, n, v * N, out);
      break;
    case 2:
      AccumulateBlockT<kG, 2, W>(df, p, g0, hd, values, stride, n, v * N, out);
      break;
    case 1:
      AccumulateBlockT<kG, 1, W>(df, p, g0, hd, values, stride, n, v * N, out);
      break;
    default:
      break;
  }
  if (full * N < hd)
    AccumulateColumnsT<kG, W>(df, p, g0, hd, values, stride, n, full * N, hd - full * N, out);
}

// out[g * hd + c] += sum_i p[g * n + i] * V_i[c]: per output element the same sequence of
// fused multiply-adds as a per-value loop (value 0 first), so the result does not depend on
// how heads and columns are grouped.
template <class W, class DF>
HWY_INLINE void AttentionAccumulateT(DF df, const float* HWY_RESTRICT p, size_t n_q, size_t hd,
                                     const typename W::T* HWY_RESTRICT values, size_t stride,
                                     size_t n, float* HWY_RESTRICT out) {
  size_t g0 = 0;
  for (; g0 + 4 <= n_q; g0 += 4) AccumulateHeadsT<4, W>(df, p, g0, hd, values, stride, n, out);
  switch (n_q - g0) {
    case 3:
      AccumulateHeadsT<3, W>(df, p, g0, hd, values, stride, n, out);
      break;
    case 2:
      AccumulateHeadsT<2, W>(df, p, g0, hd, values, stride, n, out);
      break;
    case 1:
      AccumulateHeadsT<1, W>(df, p, g0, hd, values, stride, n, out);
      break;
    default:
      break;
  }
}

// One key tile of an online softmax: m = max(*running_max, max s[0, visible)); s[i] = exp(s[i] - m)
// for i < visible, 0 for visible <= i < n; *running_max = m; returns the sum of s[0, visible).
template <class DF>
HWY_INLINE float SoftmaxTileT(DF df, float* HWY_RESTRICT s, size_t n, size_t visible,
                              float* running_max) {
  const size_t N = hn::Lanes(df);
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  auto mv = hn::Set(df, kNegInf);
  size_t i = 0;
  for (; i + N <= visible; i += N) mv = hn::Max(mv, hn::LoadU(df, s + i));
  if (i < visible) mv = hn::Max(mv, LoadPadded<F32Weights>(df, s + i, visible - i, kNegInf));
  const float m = std::max(*running_max, hn::GetLane(hn::MaxOfLanes(df, mv)));
  *running_max = m;
  const auto vm = hn::Set(df, m);
  const hn::RebindToSigned<DF> di;
  const auto iota = hn::Iota(di, 0);
  auto sum = hn::Zero(df);
  for (i = 0; i < n; i += N) {
    const size_t len = n - i < N ? n - i : N;
    const auto x = len == N ? hn::LoadU(df, s + i) : LoadPadded<F32Weights>(df, s + i, len);
    const auto keep = hn::RebindMask(
        df, hn::Lt(iota, hn::Set(di, static_cast<int32_t>(visible > i ? visible - i : 0))));
    const auto e = hn::IfThenElseZero(keep, hn::Exp(df, hn::Sub(x, vm)));
    sum = hn::Add(sum, e);
    if (len == N)
      hn::StoreU(e, df, s + i);
    else
      StorePartial(df, e, s + i, len);
  }
  return ReduceSum(df, sum);
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#endif  // FLOE_ATTENTION_INL_H_
