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

// scores[g * n + i] = scale * sum_c q[g * hd + c] * K_i[c], K_i = keys + i * stride (elements).
template <class W, class DF>
HWY_INLINE void AttentionScoresT(DF df, const float* HWY_RESTRICT q, size_t n_q, size_t hd,
                                 const typename W::T* HWY_RESTRICT keys, size_t stride, size_t n,
                                 float scale, float* HWY_RESTRICT scores) {
  const size_t N = hn::Lanes(df);
  const size_t vec = hd / N * N;
  for (size_t i = 0; i < n; ++i) {
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

// out[g * hd + c] += sum_i p[g * n + i] * V_i[c].
template <class W, class DF>
HWY_INLINE void AttentionAccumulateT(DF df, const float* HWY_RESTRICT p, size_t n_q, size_t hd,
                                     const typename W::T* HWY_RESTRICT values, size_t stride,
                                     size_t n, float* HWY_RESTRICT out) {
  const size_t N = hn::Lanes(df);
  const size_t vec = hd / N * N;
  for (size_t i = 0; i < n; ++i) {
    const typename W::T* v = values + i * stride;
    size_t c = 0;
    for (; c < vec; c += N) {
      const auto vv = LoadWeights<W>(df, v + c);
      for (size_t g = 0; g < n_q; ++g) {
        float* o = out + g * hd + c;
        hn::StoreU(hn::MulAdd(hn::Set(df, p[g * n + i]), vv, hn::LoadU(df, o)), df, o);
      }
    }
    if (c < hd) {
      const auto vv = LoadPadded<W>(df, v + c, hd - c);
      for (size_t g = 0; g < n_q; ++g) {
        float* o = out + g * hd + c;
        StorePartial(df, hn::MulAdd(hn::Set(df, p[g * n + i]), vv, LoadPadded<F32Weights>(df, o, hd - c)), o, hd - c);
      }
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#endif  // FLOE_ATTENTION_INL_H_
