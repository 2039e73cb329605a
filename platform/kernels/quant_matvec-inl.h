// Per-target matrix-vector products for block-quantized weights (platform/quant/quant.h) with
// 8-bit quantized activations. Re-included once per target by hwy/foreach_target.h via ops.cc.
//
// Arithmetic contract: for every block (Q4_0, Q8_0: 32 elements) or sub-block (Q4_K: 32,
// Q6_K: 16) the integer dot product of the weight codes with the activation codes is exact
// (int32); it is scaled in float by (weight scale x activation scale) and accumulated in float.
// The formats' offsets (Q4_0 -8, Q6_K -32) are folded in exactly with the activation block sums;
// Q4_K's per-sub-block minimum is subtracted in float (as in llama.cpp). Targets differ only in
// the order of the float accumulation. On AVX3_DL (AVX-512 VNNI) the integer products use
// vpdpbusd (64 multiply-adds per instruction); elsewhere plain integer loops.

#if defined(FLOE_QUANT_MATVEC_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FLOE_QUANT_MATVEC_INL_H_
#undef FLOE_QUANT_MATVEC_INL_H_
#else
#define FLOE_QUANT_MATVEC_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "platform/quant/quant.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {

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
    for (int j = 0; j < 16; ++j) s += int32_t(b[i].qs[j] & 0xF) * xq[j] + int32_t(b[i].qs[j] >> 4) * xq[j + 16];
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
      const size_t e0 = 256 * i + 128 * half;  // first element of this half
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

#if HWY_TARGET == HWY_AVX3_DL
// ------------------------------ AVX-512 VNNI
// Highway 1.0.3's AVX3_DL target string lacks avx512vnni although the target requires it (it is
// only chosen on CPUs that have it); these functions add it. Not inlined into the callers,
// whose target string lacks it.
#define FLOE_VNNI_ATTR __attribute__((target("avx512vnni")))

// Two 256-bit halves -> one 512-bit vector (lo in lanes 0-7).
FLOE_VNNI_ATTR HWY_INLINE __m512i Join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
FLOE_VNNI_ATTR HWY_INLINE __m512 Scales2(float lo, float hi) {
  return _mm512_insertf32x8(_mm512_set1_ps(lo), _mm256_set1_ps(hi), 1);
}

FLOE_VNNI_ATTR HWY_NOINLINE float RowDotQ4_KVnni(const BlockQ4_K* b, const QuantizedActivations& x) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m512 acc = _mm512_setzero_ps();
  float mins = 0.0f;
  for (size_t i = 0; i < x.n / 256; ++i) {
    const float d = F16ToF32(b[i].d), dmin = F16ToF32(b[i].dmin);
    for (int j = 0; j < 4; ++j) {
      const __m256i packed = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[i].qs + 32 * j));
      const __m256i lo = _mm256_and_si256(packed, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low4);
      const size_t sb = 8 * i + 2 * j;
      const __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), Join(lo, hi), _mm512_loadu_si512(x.q + 32 * sb));
      uint8_t sc0, m0, sc1, m1;
      Q4KScaleMin(b[i].scales, 2 * j, &sc0, &m0);
      Q4KScaleMin(b[i].scales, 2 * j + 1, &sc1, &m1);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), Scales2(d * float(sc0) * x.d[sb], d * float(sc1) * x.d[sb + 1]), acc);
      mins += dmin * (float(m0) * x.d[sb] * float(x.sum16[2 * sb] + x.sum16[2 * sb + 1]) +
                      float(m1) * x.d[sb + 1] * float(x.sum16[2 * sb + 2] + x.sum16[2 * sb + 3]));
    }
  }
  return _mm512_reduce_add_ps(acc) - mins;
}

FLOE_VNNI_ATTR HWY_NOINLINE float RowDotQ6_KVnni(const BlockQ6_K* b, const QuantizedActivations& x) {
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  const __m256i bits45 = _mm256_set1_epi8(0x30);
  // Byte shuffle repeating each of 4 scales 4 times (one per int32 lane of a 16-element group).
  const __m128i rep0 = _mm_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  const __m128i rep1 = _mm_setr_epi8(4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);
  __m512 acc = _mm512_setzero_ps();
  for (size_t i = 0; i < x.n / 256; ++i) {
    const float d = F16ToF32(b[i].d);
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = b[i].ql + 64 * half;
      const uint8_t* qh = b[i].qh + 32 * half;
      const size_t e0 = 256 * i + 128 * half;
      const __m256i L0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i L1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      const __m256i H = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
      const __m256i q1 = _mm256_or_si256(_mm256_and_si256(L0, low4), _mm256_and_si256(_mm256_slli_epi16(H, 4), bits45));
      const __m256i q2 = _mm256_or_si256(_mm256_and_si256(L1, low4), _mm256_and_si256(_mm256_slli_epi16(H, 2), bits45));
      const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(L0, 4), low4), _mm256_and_si256(H, bits45));
      const __m256i q4 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(L1, 4), low4),
                                         _mm256_and_si256(_mm256_srli_epi16(H, 2), bits45));
      const __m128i sc = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(b[i].scales + 8 * half));
      const __m512i groups[2] = {Join(q1, q2), Join(q3, q4)};
      for (int g = 0; g < 2; ++g) {
        const size_t e = e0 + 64 * size_t(g);
        __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), groups[g], _mm512_loadu_si512(x.q + e));
        s = _mm512_sub_epi32(s, _mm512_slli_epi32(_mm512_loadu_si512(x.sum4 + e / 4), 5));
        const __m512 scales = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_shuffle_epi8(sc, g ? rep1 : rep0)));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s),
                              _mm512_mul_ps(scales, Scales2(d * x.d[e / 32], d * x.d[e / 32 + 1])), acc);
      }
    }
  }
  return _mm512_reduce_add_ps(acc);
}

// R rows of Q8_0 / Q4_0 at once: the activation loads and offset corrections are shared, and R
// independent accumulators keep the FMA pipes busy. Same per-row arithmetic as above.
template <int R, bool kQ4>
FLOE_VNNI_ATTR HWY_NOINLINE void RowsDotQ4Q8Vnni(const uint8_t* w, size_t row_bytes, const QuantizedActivations& x,
                                                 float* y) {
  const size_t nb = x.n / 32, pairs = nb / 2;
  const __m512i bias = _mm512_set1_epi8(char(0x80));
  const __m256i low4 = _mm256_set1_epi8(0x0F);
  __m512 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
  for (size_t p = 0; p < pairs; ++p) {
    const size_t i = 2 * p;
    const __m512i xq = _mm512_loadu_si512(x.q + 32 * i);
    const __m512i corr = _mm512_slli_epi32(_mm512_loadu_si512(x.sum4 + 8 * i), kQ4 ? 3 : 7);
    const float dx0 = x.d[i], dx1 = x.d[i + 1];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const uint8_t* row = w + size_t(r) * row_bytes;
      __m512i codes;
      float d0, d1;
      if constexpr (kQ4) {
        const auto* b = reinterpret_cast<const BlockQ4_0*>(row) + i;
        _mm_prefetch(reinterpret_cast<const char*>(b) + 512, _MM_HINT_T0);
        const __m256i packed = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[0].qs))),
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[1].qs)), 1);
        const __m256i lo = _mm256_and_si256(packed, low4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low4);
        codes = Join(_mm256_permute2x128_si256(lo, hi, 0x20), _mm256_permute2x128_si256(lo, hi, 0x31));
        d0 = _cvtsh_ss(b[0].d);
        d1 = _cvtsh_ss(b[1].d);
      } else {
        const auto* b = reinterpret_cast<const BlockQ8_0*>(row) + i;
        _mm_prefetch(reinterpret_cast<const char*>(b) + 512, _MM_HINT_T0);
        codes = _mm512_xor_si512(Join(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[0].qs)),
                                      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[1].qs))),
                                 bias);
        d0 = _cvtsh_ss(b[0].d);
        d1 = _cvtsh_ss(b[1].d);
      }
      const __m512i s = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), codes, xq), corr);
      acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), Scales2(d0 * dx0, d1 * dx1), acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    float tail = 0.0f;
    if (nb % 2) {
      QuantizedActivations rest = x;
      rest.q += 32 * (nb - 1);
      rest.d += nb - 1;
      rest.sum16 += 2 * (nb - 1);
      rest.sum4 += 8 * (nb - 1);
      rest.n = 32;
      const uint8_t* row = w + size_t(r) * row_bytes;
      tail = kQ4 ? RowDotQ4_0Generic(reinterpret_cast<const BlockQ4_0*>(row) + nb - 1, rest)
                 : RowDotQ8_0Generic(reinterpret_cast<const BlockQ8_0*>(row) + nb - 1, rest);
    }
    y[r] = _mm512_reduce_add_ps(acc[r]) + tail;
  }
}
#undef FLOE_VNNI_ATTR
#endif  // HWY_TARGET == HWY_AVX3_DL

// y[r] for r in [r0, r1) of a quantized matrix (row stride = row_bytes) with activations x.
HWY_INLINE void QuantMatVecRowsT(DType t, const uint8_t* w, size_t row_bytes, const QuantizedActivations& x,
                                 float* y, size_t r0, size_t r1) {
#if HWY_TARGET == HWY_AVX3_DL
  if (t == DType::kQ8_0 || t == DType::kQ4_0) {
    const bool q4 = t == DType::kQ4_0;
    size_t r = r0;
    for (; r + 4 <= r1; r += 4) {
      if (q4) RowsDotQ4Q8Vnni<4, true>(w + r * row_bytes, row_bytes, x, y + r);
      else RowsDotQ4Q8Vnni<4, false>(w + r * row_bytes, row_bytes, x, y + r);
    }
    for (; r < r1; ++r) {
      if (q4) RowsDotQ4Q8Vnni<1, true>(w + r * row_bytes, row_bytes, x, y + r);
      else RowsDotQ4Q8Vnni<1, false>(w + r * row_bytes, row_bytes, x, y + r);
    }
    return;
  }
#endif
  for (size_t r = r0; r < r1; ++r) {
    const uint8_t* row = w + r * row_bytes;
    float v = 0.0f;
    switch (t) {
#if HWY_TARGET == HWY_AVX3_DL
      case DType::kQ4_K: v = RowDotQ4_KVnni(reinterpret_cast<const BlockQ4_K*>(row), x); break;
      case DType::kQ6_K: v = RowDotQ6_KVnni(reinterpret_cast<const BlockQ6_K*>(row), x); break;
#else
      case DType::kQ8_0: v = RowDotQ8_0Generic(reinterpret_cast<const BlockQ8_0*>(row), x); break;
      case DType::kQ4_0: v = RowDotQ4_0Generic(reinterpret_cast<const BlockQ4_0*>(row), x); break;
      case DType::kQ4_K: v = RowDotQ4_KGeneric(reinterpret_cast<const BlockQ4_K*>(row), x); break;
      case DType::kQ6_K: v = RowDotQ6_KGeneric(reinterpret_cast<const BlockQ6_K*>(row), x); break;
#endif
      default: break;
    }
    y[r] = v;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#endif  // FLOE_QUANT_MATVEC_INL_H_
