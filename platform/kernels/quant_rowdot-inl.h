// Per-target portable pieces of the quantized products (the arithmetic contract is in
// quant_matvec-inl.h): one row's integer dot product with 8-bit activations for every block
// type, and the activation quantization with vectors. Re-included once per target via
// quant_matvec-inl.h.
#if defined(FLOE_QUANT_ROWDOT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FLOE_QUANT_ROWDOT_INL_H_
#undef FLOE_QUANT_ROWDOT_INL_H_
#else
#define FLOE_QUANT_ROWDOT_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "platform/quant/quant.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// ------------------------------ portable integer loops

HWY_INLINE float RowDotQ8_0Generic(const BlockQ8_0* b, const QuantizedActivations& x) {
  float acc = 0.0f;
  for (size_t i = 0; i < x.n / 32; ++i) {
    const int8_t* xq = x.q + 32 * i;
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) s += int32_t(b[i].qs[j]) * xq[j];
    acc += float(s) * (F16ToF32(b[i].d) * x.d[i]);
  }
  return acc;
}

HWY_INLINE float RowDotQ4_0Generic(const BlockQ4_0* b, const QuantizedActivations& x) {
  float acc = 0.0f;
  for (size_t i = 0; i < x.n / 32; ++i) {
    const int8_t* xq = x.q + 32 * i;
    int32_t s = 0;
    for (int j = 0; j < 16; ++j)
      s += int32_t(b[i].qs[j] & 0xF) * xq[j] + int32_t(b[i].qs[j] >> 4) * xq[j + 16];
    s -= 8 * (x.sum16[2 * i] + x.sum16[2 * i + 1]);
    acc += float(s) * (F16ToF32(b[i].d) * x.d[i]);
  }
  return acc;
}

HWY_INLINE float RowDotQ4_KGeneric(const BlockQ4_K* b, const QuantizedActivations& x) {
  float acc = 0.0f, mins = 0.0f;
  for (size_t i = 0; i < x.n / 256; ++i) {
    const float d = F16ToF32(b[i].d), dmin = F16ToF32(b[i].dmin);
    for (int j = 0; j < 4; ++j) {
      const uint8_t* q = b[i].qs + 32 * j;
      const size_t sb = 8 * i + 2 * j;  // activation block of the low nibbles
      const int8_t* xq = x.q + 32 * sb;
      int32_t lo = 0, hi = 0;
      for (int l = 0; l < 32; ++l) {
        lo += int32_t(q[l] & 0xF) * xq[l];
        hi += int32_t(q[l] >> 4) * xq[l + 32];
      }
      uint8_t sc0, m0, sc1, m1;
      Q4KScaleMin(b[i].scales, 2 * j, &sc0, &m0);
      Q4KScaleMin(b[i].scales, 2 * j + 1, &sc1, &m1);
      acc += float(lo) * (d * float(sc0) * x.d[sb]) + float(hi) * (d * float(sc1) * x.d[sb + 1]);
      mins += dmin * (float(m0) * x.d[sb] * float(x.sum16[2 * sb] + x.sum16[2 * sb + 1]) +
                      float(m1) * x.d[sb + 1] * float(x.sum16[2 * sb + 2] + x.sum16[2 * sb + 3]));
    }
  }
  return acc - mins;
}

HWY_INLINE float RowDotQ6_KGeneric(const BlockQ6_K* b, const QuantizedActivations& x) {
  float acc = 0.0f;
  for (size_t i = 0; i < x.n / 256; ++i) {
    const float d = F16ToF32(b[i].d);
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = b[i].ql + 64 * half;
      const uint8_t* qh = b[i].qh + 32 * half;
      const int8_t* sc = b[i].scales + 8 * half;
      const size_t e0 = 256 * i + 128 * half;   // first element of this half
      int32_t s[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // per 16 elements
      for (int l = 0; l < 32; ++l) {
        const int q1 = (ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4);
        const int q2 = (ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4);
        const int q3 = (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4);
        const int q4 = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4);
        const int is = l / 16;
        s[is + 0] += q1 * x.q[e0 + l];
        s[is + 2] += q2 * x.q[e0 + l + 32];
        s[is + 4] += q3 * x.q[e0 + l + 64];
        s[is + 6] += q4 * x.q[e0 + l + 96];
      }
      for (int g = 0; g < 8; ++g) {
        const int32_t exact = s[g] - 32 * x.sum16[e0 / 16 + size_t(g)];
        acc += float(exact) * (d * float(sc[g]) * x.d[(e0 + 16 * size_t(g)) / 32]);
      }
    }
  }
  return acc;
}

HWY_INLINE float RowDotQ5_0Generic(const BlockQ5_0* b, const QuantizedActivations& x) {
  float acc = 0.0f;
  for (size_t i = 0; i < x.n / 32; ++i) {
    const int8_t* xq = x.q + 32 * i;
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) s += Q5_0Code(b[i], j) * xq[j];
    s -= 16 * (x.sum16[2 * i] + x.sum16[2 * i + 1]);
    acc += float(s) * (F16ToF32(b[i].d) * x.d[i]);
  }
  return acc;
}

// Q2_K and Q3_K with Q8_K activations (one scale per 256, x.d[8 i]): per block the integer sums
// of scale x code products (and Q2_K's of min x activation sums) are exact, then scaled in float.
HWY_INLINE float RowDotQ2_KGeneric(const BlockQ2_K* b, const QuantizedActivations& x) {
  float acc = 0.0f;
  for (size_t i = 0; i < x.n / 256; ++i) {
    const int8_t* xq = x.q + 256 * i;
    int32_t isum = 0, msum = 0;
    for (int g = 0; g < 16; ++g) {
      int32_t s = 0;
      for (int l = 0; l < 16; ++l) s += Q2KCode(b[i], 16 * g + l) * xq[16 * g + l];
      isum += int32_t(b[i].scales[g] & 0xF) * s;
      msum += int32_t(b[i].scales[g] >> 4) * x.sum16[16 * i + size_t(g)];
    }
    const float da = x.d[8 * i];
    acc += da * F16ToF32(b[i].d) * float(isum) - da * F16ToF32(b[i].dmin) * float(msum);
  }
  return acc;
}

HWY_INLINE float RowDotQ3_KGeneric(const BlockQ3_K* b, const QuantizedActivations& x) {
  float acc = 0.0f;
  for (size_t i = 0; i < x.n / 256; ++i) {
    const int8_t* xq = x.q + 256 * i;
    int8_t sc[16];
    Q3KScales(b[i].scales, sc);
    int32_t isum = 0;
    for (int g = 0; g < 16; ++g) {
      int32_t s = 0;
      for (int l = 0; l < 16; ++l) s += Q3KCode(b[i], 16 * g + l) * xq[16 * g + l];
      isum += int32_t(sc[g]) * s;
    }
    acc += x.d[8 * i] * F16ToF32(b[i].d) * float(isum);
  }
  return acc;
}

// Q4_1 and Q5_1 with Q8_1 activations (llama.cpp's ggml_vec_dot_q4_1_q8_1 / q5_1_q8_1): per
// block the exact integer dot product of the unsigned codes, scaled by d_w x d_a; the min m
// enters as m x s (Q8_1's fp16 d' x sum of codes), summed apart and added at the end.
template <bool kFive, class Block>
HWY_INLINE float RowDotQx_1Generic(const Block* b, const QuantizedActivations& x) {
  float acc = 0.0f, mins = 0.0f;
  for (size_t i = 0; i < x.n / 32; ++i) {
    const int8_t* xq = x.q + 32 * i;
    int32_t s = 0;
    if constexpr (kFive) {
      for (int j = 0; j < 32; ++j) s += Q5Code(b[i].qh, b[i].qs, j) * xq[j];
    } else {
      for (int j = 0; j < 16; ++j)
        s += int32_t(b[i].qs[j] & 0xF) * xq[j] + int32_t(b[i].qs[j] >> 4) * xq[j + 16];
    }
    acc += float(s) * (F16ToF32(b[i].d) * x.d[i]);
    mins += F16ToF32(b[i].m) * x.s[i];
  }
  return acc + mins;
}

// Q5_K with Q8_K activations (llama.cpp's ggml_vec_dot_q5_K_q8_K): per block the scale x code
// products and the mins x activation sums in int32 (at most 8 x 32 x 31 x 127 x 63 < 2^31),
// each scaled once in float.
HWY_INLINE float RowDotQ5_KGeneric(const BlockQ5_K* b, const QuantizedActivations& x) {
  float acc = 0.0f, mins = 0.0f;
  for (size_t i = 0; i < x.n / 256; ++i) {
    const int8_t* xq = x.q + 256 * i;
    int32_t isum = 0, msum = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      Q4KScaleMin(b[i].scales, j, &sc, &m);
      const uint8_t* qs = b[i].qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      int32_t s = 0;
      for (int l = 0; l < 32; ++l)
        s += (((qs[l] >> shift) & 0xF) | ((b[i].qh[l] >> j) & 1) << 4) * xq[32 * j + l];
      isum += int32_t(sc) * s;
      msum += int32_t(m) * (x.sum16[16 * i + 2 * size_t(j)] + x.sum16[16 * i + 2 * size_t(j) + 1]);
    }
    const float da = x.d[8 * i];
    acc += (da * F16ToF32(b[i].d)) * float(isum);
    mins += (da * F16ToF32(b[i].dmin)) * float(msum);
  }
  return acc - mins;
}

// ------------------------------ activation quantization

// q[e] = clamp(round-to-nearest-even(scale x x[e]), -127, 127) for e < count (a multiple of the
// lanes): the codes step of both activation quantizers.
template <class DF>
HWY_INLINE void StoreRoundedCodes(DF df, const float* HWY_RESTRICT x, size_t count, float scale,
                                  int8_t* HWY_RESTRICT q) {
  const hn::RebindToSigned<DF> di;
  const hn::Rebind<int8_t, DF> d8;
  const auto lo = hn::Set(di, -127), hi = hn::Set(di, 127);
  const auto vs = hn::Set(df, scale);
  for (size_t e = 0; e < count; e += hn::Lanes(df)) {
    const auto v = hn::Min(hn::Max(hn::NearestInt(hn::Mul(hn::LoadU(df, x + e), vs)), lo), hi);
    hn::StoreU(hn::DemoteTo(d8, v), d8, q + e);
  }
}

// QuantizeActivationBlocks (platform/quant/quant.h) with vectors: the same float operations
// (|x| max, x * (127 / max), round to nearest even), so identical codes and scales for finite x.
template <class DF>
HWY_INLINE void QuantizeActivationBlocksT(DF df, const float* HWY_RESTRICT x, size_t n,
                                          int8_t* HWY_RESTRICT q, float* HWY_RESTRICT d,
                                          float* HWY_RESTRICT d_f32) {
  const size_t N = hn::Lanes(df);
  if (N > 32 || 32 % N != 0) return QuantizeActivationBlocks(x, n, q, d, d_f32);
  for (size_t b = 0; b < n / 32; ++b) {
    const float* xb = x + 32 * b;
    auto m = hn::Zero(df);
    for (size_t e = 0; e < 32; e += N) m = hn::Max(m, hn::Abs(hn::LoadU(df, xb + e)));
    const float amax = hn::GetLane(hn::MaxOfLanes(df, m));
    d[b] = F16ToF32(F32ToF16(amax / 127.0f));
    if (d_f32 != nullptr) d_f32[b] = amax / 127.0f;
    StoreRoundedCodes(df, xb, 32, amax != 0.0f ? 127.0f / amax : 0.0f, q + 32 * b);
  }
}

// QuantizeActivationBlocksQ8K (platform/quant/quant.h) with vectors, block by block: |x| max,
// the first element of that magnitude (the reference's max), codes round(x * (-127 / max))
// clamped to +-127, d = 1 / iscale; the same float operations, so identical codes and scales.
// A block holding a NaN or an infinity goes through the scalar reference (which skips NaNs).
template <class DF>
HWY_INLINE void QuantizeActivationBlocksQ8KT(DF df, const float* HWY_RESTRICT x, size_t n,
                                             int8_t* HWY_RESTRICT q, float* HWY_RESTRICT d,
                                             float* HWY_RESTRICT d_f32) {
  const size_t N = hn::Lanes(df);
  if (N > 256 || 256 % N != 0) return QuantizeActivationBlocksQ8K(x, n, q, d, d_f32);
  for (size_t b = 0; b < n / 256; ++b) {
    const float* xb = x + 256 * b;
    auto m = hn::Zero(df);
    auto finite = hn::Eq(m, m);  // all true
    for (size_t e = 0; e < 256; e += N) {
      const auto v = hn::LoadU(df, xb + e);
      finite = hn::And(finite, hn::IsFinite(v));
      m = hn::Max(m, hn::Abs(v));
    }
    const float amax = hn::GetLane(hn::MaxOfLanes(df, m));
    size_t first = 256;
    if (hn::AllTrue(df, finite)) {
      const auto va = hn::Set(df, amax);
      for (size_t e = 0; e < 256 && first == 256; e += N) {
        const intptr_t i = hn::FindFirstTrue(df, hn::Eq(hn::Abs(hn::LoadU(df, xb + e)), va));
        if (i >= 0) first = e + size_t(i);
      }
    }
    if (first == 256) {  // not finite
      QuantizeActivationBlocksQ8K(xb, 256, q + 256 * b, d + 8 * b,
                                  d_f32 != nullptr ? d_f32 + 8 * b : nullptr);
      continue;
    }
    const float iscale = amax != 0.0f ? -127.0f / xb[first] : 0.0f;
    StoreRoundedCodes(df, xb, 256, iscale, q + 256 * b);
    const float db = amax != 0.0f ? 1.0f / iscale : 0.0f;
    for (int k = 0; k < 8; ++k) d[8 * b + k] = db;
    if (d_f32 != nullptr)
      for (int k = 0; k < 8; ++k) d_f32[8 * b + k] = db;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#endif  // FLOE_QUANT_ROWDOT_INL_H_
