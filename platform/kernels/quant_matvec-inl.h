// Per-target matrix-vector products for block-quantized weights (platform/quant/quant.h) with
// 8-bit quantized activations. Re-included once per target by hwy/foreach_target.h via ops.cc.
//
// Arithmetic contract: for every block (Q4_0, Q8_0: 32 elements) or sub-block (Q4_K: 32,
// Q6_K: 16) the integer dot product of the weight codes with the activation codes is exact
// (int32); it is scaled in float by (weight scale x activation scale) and accumulated in float.
// The formats' offsets (Q4_0 -8, Q6_K -32) are folded in exactly with the activation block sums;
// Q4_K's per-sub-block minimum is subtracted in float (as in llama.cpp). K-quant activations are
// Q8_K (one scale per 256), so a K-quant kernel may also sum a whole block's scale x code
// products in int32 before scaling (the AVX3_DL Q4_K one does, as llama.cpp). Targets differ only in
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
#include <cstring>

#include "hwy/highway.h"
#include "platform/kernels/tile_prefetch.h"
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

// QuantizeActivationBlocks (platform/quant/quant.h) with vectors: the same float operations
// (|x| max, x * (127 / max), round to nearest even), so identical codes and scales for finite x.
template <class DF>
HWY_INLINE void QuantizeActivationBlocksT(DF df, const float* HWY_RESTRICT x, size_t n,
                                          int8_t* HWY_RESTRICT q, float* HWY_RESTRICT d,
                                          float* HWY_RESTRICT d_f32) {
  const size_t N = hn::Lanes(df);
  if (N > 32 || 32 % N != 0) return QuantizeActivationBlocks(x, n, q, d, d_f32);
  const hn::RebindToSigned<DF> di;
  const hn::Rebind<int8_t, DF> d8;
  const auto lo = hn::Set(di, -127), hi = hn::Set(di, 127);
  for (size_t b = 0; b < n / 32; ++b) {
    const float* xb = x + 32 * b;
    auto m = hn::Zero(df);
    for (size_t e = 0; e < 32; e += N) m = hn::Max(m, hn::Abs(hn::LoadU(df, xb + e)));
    const float amax = hn::GetLane(hn::MaxOfLanes(df, m));
    const auto id = hn::Set(df, amax != 0.0f ? 127.0f / amax : 0.0f);
    d[b] = F16ToF32(F32ToF16(amax / 127.0f));
    if (d_f32 != nullptr) d_f32[b] = amax / 127.0f;
    for (size_t e = 0; e < 32; e += N) {
      const auto v = hn::Min(hn::Max(hn::NearestInt(hn::Mul(hn::LoadU(df, xb + e), id)), lo), hi);
      hn::StoreU(hn::DemoteTo(d8, v), d8, q + 32 * b + e);
    }
  }
}

#if HWY_TARGET == HWY_AVX3_DL
// ------------------------------ AVX-512 VNNI
// Highway 1.0.3's AVX3_DL target string lacks avx512vnni although the target requires it (it is
// only chosen on CPUs that have it); these functions add it. Not inlined into the callers,
// whose target string lacks it.
#define FLOE_VNNI_ATTR __attribute__((target("avx512vnni,avx512vbmi")))

// Generic tail: blocks [b0, nb) of one Q4_0 / Q8_0 row.
template <bool kQ4>
HWY_INLINE float TailDot(const uint8_t* row, const QuantizedActivations& x, size_t b0) {
  const size_t nb = x.n / 32;
  if (b0 >= nb) return 0.0f;
  QuantizedActivations rest = x;
  rest.q += 32 * b0;
  rest.d += b0;
  rest.sum16 += 2 * b0;
  rest.sum4 += 8 * b0;
  rest.n = 32 * (nb - b0);
  return kQ4 ? RowDotQ4_0Generic(reinterpret_cast<const BlockQ4_0*>(row) + b0, rest)
             : RowDotQ8_0Generic(reinterpret_cast<const BlockQ8_0*>(row) + b0, rest);
}

// One token's activations in a format's VNNI layout: codes, accumulator start per int32 lane,
// activation scale per lane (see QuantizedActivations).
struct VnniActivations {
  const int8_t* q;
  const int32_t* c;
  const float* d;
};

// Q4_0, 4 blocks (72 bytes, 128 weights) per step. Two overlapping 64-byte loads cover the 4
// blocks; one vpermt2b gathers their 64 nibble bytes, one vpermw their 4 f16 scales (each
// repeated over its block's 4 int32 lanes). The activation codes are pre-ordered to match
// (QuantizedActivations::q4), so the low and high nibbles meet them without permutes, and the
// -8 offset is the accumulator's initial value (c4).
struct Q4_0Vnni {
  static constexpr bool kQ4 = true;
  static constexpr size_t kGroupElems = 128, kGroupBytes = 72, kSecondLoad = 8;
  alignas(64) static constexpr uint8_t kCodes[64] = {
      2,   3,   4,   5,   6,   7,   8,   9,
      10,  11,  12,  13,  14,  15,  16,  17,  // block 0
      20,  21,  22,  23,  24,  25,  26,  27,
      28,  29,  30,  31,  32,  33,  34,  35,  // block 1
      38,  39,  40,  41,  42,  43,  44,  45,
      46,  47,  48,  49,  50,  51,  52,  53,  // block 2
      112, 113, 114, 115, 116, 117, 118, 119,
      120, 121, 122, 123, 124, 125, 126, 127};  // block 3 (2nd load)
  alignas(64) static constexpr uint16_t kScales[32] = {0,  0,  0,  0,  9,  9, 9, 9, 18, 18, 18,
                                                       18, 27, 27, 27, 27, 0, 0, 0, 0,  0,  0,
                                                       0,  0,  0,  0,  0,  0, 0, 0, 0,  0};
  struct Codes {
    __m512i lo, hi;
  };
  using Act = VnniActivations;
  static Act Activations(const QuantizedActivations& x) { return {x.q4, x.c4, x.d4}; }
  FLOE_VNNI_ATTR static Codes Decode(__m512i gathered) {
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    return {_mm512_and_si512(gathered, low4),
            _mm512_and_si512(_mm512_srli_epi16(gathered, 4), low4)};
  }
  FLOE_VNNI_ATTR static __m512i Dot(const Codes& w, const Act& a, size_t g) {
    return _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_loadu_si512(a.c + 16 * g), w.lo,
                                                   _mm512_loadu_si512(a.q + 128 * g)),
                               w.hi, _mm512_loadu_si512(a.q + 128 * g + 64));
  }
};

// Q8_0, 2 blocks (68 bytes, 64 weights) per step: two overlapping loads, one vpermt2b for the
// 64 codes, one vpermw for the 2 scales (each over its block's 8 lanes). The signed codes are
// made unsigned by +128 (xor 0x80) for vpdpbusd; the accumulator starts at -128 x the
// activation sums (c8), which undoes it exactly.
struct Q8_0Vnni {
  static constexpr bool kQ4 = false;
  static constexpr size_t kGroupElems = 64, kGroupBytes = 68, kSecondLoad = 4;
  alignas(64) static constexpr uint8_t
      kCodes[64] = {2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,
                    13,  14,  15,  16,  17,  18,  19,  20,  21,  22,  23,
                    24,  25,  26,  27,  28,  29,  30,  31,  32,  33,  // block 0
                    96,  97,  98,  99,  100, 101, 102, 103, 104, 105, 106,
                    107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117,
                    118, 119, 120, 121, 122, 123, 124, 125, 126, 127};  // block 1 (2nd load)
  alignas(64) static constexpr uint16_t kScales[32] = {0,  0,  0,  0,  0,  0, 0, 0, 17, 17, 17,
                                                       17, 17, 17, 17, 17, 0, 0, 0, 0,  0,  0,
                                                       0,  0,  0,  0,  0,  0, 0, 0, 0,  0};
  struct Codes {
    __m512i u;
  };
  using Act = VnniActivations;
  static Act Activations(const QuantizedActivations& x) { return {x.q, x.c8, x.d8}; }
  FLOE_VNNI_ATTR static Codes Decode(__m512i gathered) {
    return {_mm512_xor_si512(gathered, _mm512_set1_epi8(char(0x80)))};
  }
  FLOE_VNNI_ATTR static __m512i Dot(const Codes& w, const Act& a, size_t g) {
    return _mm512_dpbusd_epi32(_mm512_loadu_si512(a.c + 16 * g), w.u,
                               _mm512_loadu_si512(a.q + 64 * g));
  }
};

// The sum of v's 16 lanes in one fixed order: h_i = v_i + v_{i+8}, q_i = h_i + h_{i+4}, then
// (q_0 + q_2) + (q_1 + q_3) (GCC's _mm512_reduce_add_ps order, written out so that every tile
// shape and compiler sums a row the same way).
FLOE_VNNI_ATTR HWY_INLINE float ReduceAdd16(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  const __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  const __m128 p = _mm_add_ps(q, _mm_shuffle_ps(q, q, _MM_SHUFFLE(1, 0, 3, 2)));
  return _mm_cvtss_f32(_mm_add_ss(p, _mm_shuffle_ps(p, p, _MM_SHUFFLE(1, 1, 1, 1))));
}

// out[j] = ReduceAdd16(a[j]) for j < 8, bit for bit, with the 8 reductions sharing shuffles
// (26 instructions instead of 8 x 8).
FLOE_VNNI_ATTR HWY_INLINE void ReduceAdd8x16(const __m512* a, float* out) {
  __m512 h[4], q[2];
  for (int j = 0; j < 4; ++j)  // [h(a[2j]) | h(a[2j+1])], h = low 256 bits + high 256 bits
    h[j] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * j], a[2 * j + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(a[2 * j], a[2 * j + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  for (int k = 0; k < 2; ++k)  // 128-bit lane j: q of a[4k + j] (low 128 + high 128 bits of its h)
    q[k] = _mm512_add_ps(_mm512_shuffle_f32x4(h[2 * k], h[2 * k + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(h[2 * k], h[2 * k + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  for (int k = 0; k < 2; ++k) {
    const __m512 p = _mm512_add_ps(q[k], _mm512_shuffle_ps(q[k], q[k], _MM_SHUFFLE(1, 0, 3, 2)));
    q[k] =
        _mm512_add_ps(p, _mm512_shuffle_ps(p, p, _MM_SHUFFLE(2, 3, 0, 1)));  // element 0: p0 + p1
  }
  const __m512i first = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0);
  _mm256_storeu_ps(out, _mm512_castps512_ps256(_mm512_permutex2var_ps(q[0], first, q[1])));
}

// y[t * y_stride + r] for rows r < R (row_bytes apart) and tokens t < T (activations x[t]) of
// a Q4_0 / Q8_0 matrix (format F above). Per block: the exact integer dot product, scaled in
// float by (weight scale x activation scale) and accumulated in one float vector per (row,
// token), in block order, so a (row, token) result does not depend on R or T. Decoded weights
// are reused for all T tokens (prefill).
template <class F, int R, int T>
FLOE_VNNI_ATTR HWY_NOINLINE void TileDotVnni(const uint8_t* w, size_t row_bytes,
                                             const QuantizedActivations* x, float* y,
                                             size_t y_stride) {
  const size_t groups = x[0].n / F::kGroupElems;
  const __m512i code_idx = _mm512_load_si512(F::kCodes);
  const __m512i scale_idx = _mm512_load_si512(F::kScales);
  typename F::Act act[T];
  for (int t = 0; t < T; ++t) act[t] = F::Activations(x[t]);
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  // Decode: the R rows after this tile are prefetched linearly (see tile_prefetch.h).
  NextTilePrefetch prefetch(w + size_t(R) * row_bytes, T == 1 && R > 1 ? size_t(R) * row_bytes : 0,
                            groups);
  for (size_t g = 0; g < groups; ++g) {
    prefetch.Step();
    // Fully unrolled (R <= 8), so that acc[r][t] are registers, not stack slots.
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const uint8_t* p = w + size_t(r) * row_bytes + F::kGroupBytes * g;
      const __m512i v0 = _mm512_loadu_si512(p);
      const __m512i v1 = _mm512_loadu_si512(p + F::kSecondLoad);
      const typename F::Codes codes = F::Decode(_mm512_permutex2var_epi8(v0, code_idx, v1));
      const __m512 dw =
          _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(scale_idx, v0)));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m512i s = F::Dot(codes, act[t], g);
        acc[r][t] =
            _mm512_fmadd_ps(_mm512_cvtepi32_ps(s),
                            _mm512_mul_ps(dw, _mm512_loadu_ps(act[t].d + 16 * g)), acc[r][t]);
      }
    }
  }
  const size_t done = groups * (F::kGroupElems / 32);  // blocks covered; the rest is the tail
  float sums[R * T];
  int i = 0;
  for (; i + 8 <= R * T; i += 8) ReduceAdd8x16(&acc[0][0] + i, sums + i);
  for (; i < R * T; ++i) sums[i] = ReduceAdd16((&acc[0][0])[i]);
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t)
      y[size_t(t) * y_stride + size_t(r)] =
          sums[r * T + t] + TailDot<F::kQ4>(w + size_t(r) * row_bytes, x[t], done);
}

// Rows [r0, r1) x tokens [0, n_tokens) of Q4_0 / Q8_0 in tiles of 8 rows (one token) or 4 rows x
// 4 tokens (edges: smaller tiles).
template <int T>
FLOE_VNNI_ATTR HWY_NOINLINE void TileRowsVnni(bool q4, const uint8_t* w, size_t row_bytes,
                                              const QuantizedActivations* x, float* y,
                                              size_t y_stride, size_t r0, size_t r1) {
  size_t r = r0;
  // Decode (one token): 8 rows per tile, more independent row streams in flight (faster than 4
  // in bench_matvec; docs/results/quantized-kernels.md); prefill: 4 rows x 4 tokens.
  constexpr int kR = T == 1 ? 8 : 4;
  for (; r + kR <= r1; r += kR) {
    if (q4)
      TileDotVnni<Q4_0Vnni, kR, T>(w + r * row_bytes, row_bytes, x, y + r, y_stride);
    else
      TileDotVnni<Q8_0Vnni, kR, T>(w + r * row_bytes, row_bytes, x, y + r, y_stride);
  }
  for (; r < r1; ++r) {
    if (q4)
      TileDotVnni<Q4_0Vnni, 1, T>(w + r * row_bytes, row_bytes, x, y + r, y_stride);
    else
      TileDotVnni<Q8_0Vnni, 1, T>(w + r * row_bytes, row_bytes, x, y + r, y_stride);
  }
}

// ------------------------------ K-quant tiles (AVX-512 VNNI)
// Q4_K and Q6_K blocks (256 weights) for R rows x T tokens, computing for each (row, token)
// exactly what llama.cpp's x86 vec_dot (ggml_vec_dot_q{4,6}_K_q8_K, AVX2 path) computes:
//   - per block, 8 int32 lanes; lane k holds sum over the block's 8 runs of 32 weights of
//     scale x (the products of weights 4k..4k+3 of the run) -- exact integers;
//   - d = da x dw (Q4_K also dmin = -da x dwmin), acc8 = fma(d, float(lanes), acc8), and for
//     Q4_K acc4 = fma(dmin, float(4 lanes of mins x sub-block sums), acc4);
//   - the result: acc8 summed as hsum_float_8, plus acc4 summed (0 + 2) + (1 + 3).
// Here: vpdpbusd sums 4 products per int32 lane (64 codes per vector: lanes 0-7 and 8-15 hold
// two runs); two such vectors are interleaved as int16 pairs (exact: |s| <= 4 x 15 x 128 for
// Q4_K, 4 x 32 x 128 with Q6_K's -32 folded into the start) and one vpdpwssd applies both runs'
// scales; lanes k and k + 8 are added at the end of the block. acc8 is lanes 0-7 of one float
// vector and acc4 its lanes 8-11, so one fma per (row, token, block) updates both. A (row, token)
// value is therefore the same for every tile shape and target-independent on this target.

// Two int32 vectors -> int16 pairs (a[L], b[L]) in each int32 lane L (exact for |a|, |b| < 2^15).
FLOE_VNNI_ATTR HWY_INLINE __m512i PairInt16(__m512i a, __m512i b) {
  return _mm512_mask_blend_epi16(0xAAAAAAAAu, a, _mm512_slli_epi32(b, 16));
}

// llama.cpp's final sums: lanes 0-7 as hsum_float_8, lanes 8-11 as (8 + 10) + (9 + 11).
FLOE_VNNI_ATTR HWY_INLINE float ReduceKQuant(__m512 v) {
  const __m256 lo = _mm512_castps512_ps256(v);
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(lo, 1), _mm256_castps256_ps128(lo));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  __m128 m = _mm512_extractf32x4_ps(v, 2);
  m = _mm_add_ps(m, _mm_movehl_ps(m, m));
  m = _mm_add_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(r) + _mm_cvtss_f32(m);
}

// The 6-bit (scale, min) pairs of a Q4_K block as 16 bytes: sc0..sc7, m0..m7 (Q4KScaleMin for
// all j at once, on 32-bit words).
FLOE_VNNI_ATTR HWY_INLINE __m128i Q4KScalesMins(const uint8_t* scales) {
  uint32_t u[3];
  std::memcpy(u, scales, 12);
  const uint32_t sc_lo = u[0] & 0x3F3F3F3Fu, m_lo = u[1] & 0x3F3F3F3Fu;
  const uint32_t sc_hi = (u[2] & 0x0F0F0F0Fu) | ((u[0] >> 6) & 0x03030303u) << 4;
  const uint32_t m_hi = ((u[2] >> 4) & 0x0F0F0F0Fu) | ((u[1] >> 6) & 0x03030303u) << 4;
  return _mm_setr_epi32(int(sc_lo), int(sc_hi), int(m_lo), int(m_hi));
}

// Q4_K, and with kQ5 Q5_K (the same scales; 32 bytes of fifth bits before the nibbles). Q5_K's
// mins are one scalar per row in llama.cpp (summs += dmin x the block's whole mins sum, an FMA
// once GCC contracts it on FMA CPUs), here lane 8 alone.
template <int R, int T, bool kQ5 = false>
FLOE_VNNI_ATTR HWY_NOINLINE void TileDotQ4_K(const uint8_t* w, size_t row_bytes,
                                             const QuantizedActivations* x, float* y,
                                             size_t y_stride) {
  const size_t blocks = x[0].n / 256;
  constexpr size_t kBlockBytes = kQ5 ? 176 : 144, kCodes = kQ5 ? 48 : 16;
  const __m512i low4 = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(16);
  // Q5_K: the qh bit of each code vector's two runs (sub-blocks 0 | 2, 1 | 3, 4 | 6, 5 | 7).
  const __m512i fifth[4] = {
      _mm512_inserti64x4(_mm512_set1_epi8(1), _mm256_set1_epi8(4), 1),
      _mm512_inserti64x4(_mm512_set1_epi8(2), _mm256_set1_epi8(8), 1),
      _mm512_inserti64x4(_mm512_set1_epi8(16), _mm256_set1_epi8(64), 1),
      _mm512_inserti64x4(_mm512_set1_epi8(32), _mm256_set1_epi8(char(128)), 1)};
  // The codes of one 64-byte load: low nibbles are sub-blocks 0 (lanes 0-7) and 2 (lanes
  // 8-15), high nibbles 1 and 3 (second load: 4, 6 / 5, 7). Scale pairs per int32 lane as
  // bytes (sc, 0, sc', 0): lanes 0-7 (sc0, sc1), lanes 8-15 (sc2, sc3); +4 for the second load.
  alignas(64) static constexpr uint8_t kPairs[64] = {
      0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
      1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 2, 0, 3, 0, 2, 0, 3, 0, 2, 0, 3, 0,
      2, 0, 3, 0, 2, 0, 3, 0, 2, 0, 3, 0, 2, 0, 3, 0, 2, 0, 3, 0};
  const __m512i idx01 = _mm512_load_si512(kPairs);
  const __m512i idx45 = _mm512_add_epi8(idx01, _mm512_set1_epi8(4));
  const __mmask64 even = 0x5555555555555555ull;
  // Lanes 0-7: d, 8-11: dmin, 12-15: unused (0).
  const __m512i d_lanes = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2);
  const __m512 sign = _mm512_setr_ps(1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, 0, 0, 0, 0);
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  NextTilePrefetch prefetch(w + size_t(R) * row_bytes, T == 1 && R > 1 ? size_t(R) * row_bytes : 0,
                            blocks);
  for (size_t i = 0; i < blocks; ++i) {
    prefetch.Step();
    // Per token: the activations regrouped to match the code vectors, (da, -da) and the 8
    // sub-block sums as int16.
    __m512i a[T][4];
    __m512 da[T];
    __m128i bsum[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      const int8_t* q = x[t].q + 256 * i;
      const __m512i a0 = _mm512_loadu_si512(q), a1 = _mm512_loadu_si512(q + 64);
      const __m512i a2 = _mm512_loadu_si512(q + 128), a3 = _mm512_loadu_si512(q + 192);
      a[t][0] = _mm512_shuffle_i64x2(a0, a1, _MM_SHUFFLE(1, 0, 1, 0));  // elements 0-31, 64-95
      a[t][1] = _mm512_shuffle_i64x2(a0, a1, _MM_SHUFFLE(3, 2, 3, 2));  // 32-63, 96-127
      a[t][2] = _mm512_shuffle_i64x2(a2, a3, _MM_SHUFFLE(1, 0, 1, 0));
      a[t][3] = _mm512_shuffle_i64x2(a2, a3, _MM_SHUFFLE(3, 2, 3, 2));
      da[t] = _mm512_mul_ps(_mm512_set1_ps(x[t].d[8 * i]), sign);
      const __m512i s16 = _mm512_loadu_si512(x[t].sum16 + 16 * i);
      bsum[t] = _mm512_cvtepi64_epi16(_mm512_add_epi32(s16, _mm512_srli_epi64(s16, 32)));
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const uint8_t* blk = w + size_t(r) * row_bytes + kBlockBytes * i;
      const __m512i c0 = _mm512_loadu_si512(blk + kCodes);
      const __m512i c1 = _mm512_loadu_si512(blk + kCodes + 64);
      __m512i codes[4] = {
          _mm512_and_si512(c0, low4), _mm512_and_si512(_mm512_srli_epi16(c0, 4), low4),
          _mm512_and_si512(c1, low4), _mm512_and_si512(_mm512_srli_epi16(c1, 4), low4)};
      if constexpr (kQ5) {
        const __m512i qh =
            _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 16)));
        for (int k = 0; k < 4; ++k)
          codes[k] = _mm512_mask_add_epi8(codes[k], _mm512_test_epi8_mask(qh, fifth[k]), codes[k],
                                          sixteen);
      }
      const __m128i sm = Q4KScalesMins(blk + 4);
      const __m512i smv = _mm512_castsi128_si512(sm);
      const __m512i sc01 = _mm512_maskz_permutexvar_epi8(even, idx01, smv);
      const __m512i sc45 = _mm512_maskz_permutexvar_epi8(even, idx45, smv);
      const __m128i m16 = _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8));
      int d_dmin;  // the f16 pair d, dmin
      std::memcpy(&d_dmin, blk, 4);
      const __m512 dw = _mm512_permutexvar_ps(
          d_lanes, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(d_dmin))));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        const __m512i zero = _mm512_setzero_si512();
        const __m512i s0 = _mm512_dpbusd_epi32(zero, codes[0], a[t][0]);
        const __m512i s1 = _mm512_dpbusd_epi32(zero, codes[1], a[t][1]);
        const __m512i s2 = _mm512_dpbusd_epi32(zero, codes[2], a[t][2]);
        const __m512i s3 = _mm512_dpbusd_epi32(zero, codes[3], a[t][3]);
        __m512i isum = _mm512_dpwssd_epi32(zero, PairInt16(s0, s1), sc01);
        isum = _mm512_dpwssd_epi32(isum, PairInt16(s2, s3), sc45);
        const __m256i lanes8 =
            _mm256_add_epi32(_mm512_castsi512_si256(isum), _mm512_extracti64x4_epi64(isum, 1));
        __m128i mins = _mm_madd_epi16(m16, bsum[t]);
        if constexpr (kQ5) {  // the 4 lanes' exact sum, in lane 0
          mins = _mm_add_epi32(mins, _mm_shuffle_epi32(mins, _MM_SHUFFLE(1, 0, 3, 2)));
          mins = _mm_add_epi32(mins, _mm_shuffle_epi32(mins, _MM_SHUFFLE(2, 3, 0, 1)));
          mins = _mm_maskz_mov_epi32(1, mins);
        }
        const __m512i v = _mm512_inserti32x4(_mm512_zextsi256_si512(lanes8), mins, 2);
        acc[r][t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, da[t]), _mm512_cvtepi32_ps(v), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[size_t(t) * y_stride + size_t(r)] = ReduceKQuant(acc[r][t]);
}

template <int R, int T>
FLOE_VNNI_ATTR HWY_NOINLINE void TileDotQ6_K(const uint8_t* w, size_t row_bytes,
                                             const QuantizedActivations* x, float* y,
                                             size_t y_stride) {
  const size_t blocks = x[0].n / 256;
  const __m512i low4 = _mm512_set1_epi8(0x0F), bits45 = _mm512_set1_epi8(0x30);
  // Each half of a block (128 weights) is two 64-code vectors: the low nibbles of ql[0..63]
  // (weights 0-63 of the half, in order) and the high nibbles (64-127), each with its two high
  // bits from qh moved to bits 4-5 (per 16-bit lane shifts: first 32 bytes / last 32 bytes).
  const __m512i shl_lo = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
  const __m512i shr_hi = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
  // Scale pairs (int16) per int32 lane L of half h: the scales of weights 4L (low vector) and
  // 64 + 4L (high vector): sc[8 h + L / 4], sc[8 h + 4 + L / 4].
  alignas(64) static constexpr uint16_t kPairs[2][32] = {
      {0, 4, 0, 4, 0, 4, 0, 4, 1, 5, 1, 5, 1, 5, 1, 5,
       2, 6, 2, 6, 2, 6, 2, 6, 3, 7, 3, 7, 3, 7, 3, 7},
      {8,  12, 8,  12, 8,  12, 8,  12, 9,  13, 9,  13, 9,  13, 9,  13,
       10, 14, 10, 14, 10, 14, 10, 14, 11, 15, 11, 15, 11, 15, 11, 15}};
  const __m512i pidx0 = _mm512_load_si512(kPairs[0]), pidx1 = _mm512_load_si512(kPairs[1]);
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  NextTilePrefetch prefetch(w + size_t(R) * row_bytes, T == 1 && R > 1 ? size_t(R) * row_bytes : 0,
                            blocks);
  for (size_t i = 0; i < blocks; ++i) {
    prefetch.Step();
    const int8_t* aq[T];
    __m512i start[T][4];  // -32 x the activation sums of each int32 lane's 4 weights
    __m512 da[T];
#pragma GCC unroll 4
    for (int t = 0; t < T; ++t) {
      aq[t] = x[t].q + 256 * i;
      for (int v = 0; v < 4; ++v)
        start[t][v] =
            _mm512_sub_epi32(_mm512_setzero_si512(),
                             _mm512_slli_epi32(_mm512_loadu_si512(x[t].sum4 + 64 * i + 16 * v), 5));
      da[t] = _mm512_set1_ps(x[t].d[8 * i]);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const uint8_t* blk = w + size_t(r) * row_bytes + 210 * i;
      const __m512i sc16 = _mm512_cvtepi8_epi16(
          _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192))));
      const __m512i sc[2] = {_mm512_permutexvar_epi16(pidx0, sc16),
                             _mm512_permutexvar_epi16(pidx1, sc16)};
      __m512i codes[4];
      for (int h = 0; h < 2; ++h) {
        const __m512i ql = _mm512_loadu_si512(blk + 64 * h);
        const __m512i qh = _mm512_broadcast_i64x4(
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 128 + 32 * h)));
        codes[2 * h] = _mm512_or_si512(_mm512_and_si512(ql, low4),
                                       _mm512_and_si512(_mm512_sllv_epi16(qh, shl_lo), bits45));
        codes[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4),
                                           _mm512_and_si512(_mm512_srlv_epi16(qh, shr_hi), bits45));
      }
      uint16_t d16;
      std::memcpy(&d16, blk + 208, 2);
      const __m512 dw = _mm512_maskz_broadcastss_ps(0x00FF, _mm_cvtph_ps(_mm_cvtsi32_si128(d16)));
#pragma GCC unroll 4
      for (int t = 0; t < T; ++t) {
        __m512i isum = _mm512_setzero_si512();
        for (int h = 0; h < 2; ++h) {
          const __m512i s_lo = _mm512_dpbusd_epi32(start[t][2 * h], codes[2 * h],
                                                   _mm512_loadu_si512(aq[t] + 128 * h));
          const __m512i s_hi = _mm512_dpbusd_epi32(start[t][2 * h + 1], codes[2 * h + 1],
                                                   _mm512_loadu_si512(aq[t] + 128 * h + 64));
          isum = _mm512_dpwssd_epi32(isum, PairInt16(s_lo, s_hi), sc[h]);
        }
        const __m256i lanes8 =
            _mm256_add_epi32(_mm512_castsi512_si256(isum), _mm512_extracti64x4_epi64(isum, 1));
        acc[r][t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, da[t]),
                                    _mm512_cvtepi32_ps(_mm512_zextsi256_si512(lanes8)), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[size_t(t) * y_stride + size_t(r)] = ReduceKQuant(acc[r][t]);
}

// Rows [r0, r1) of a K-quant (Tile: Q4_KTile, Q5_KTile or Q6_KTile) for T tokens: 8-row tiles for
// one token, 4 x 4 otherwise.
template <int T, template <int, int> class Tile>
FLOE_VNNI_ATTR HWY_INLINE void TileRowsK(const uint8_t* w, size_t row_bytes,
                                         const QuantizedActivations* x, float* y, size_t y_stride,
                                         size_t r0, size_t r1) {
  constexpr int kR = T == 1 ? 8 : 4;
  size_t r = r0;
  for (; r + kR <= r1; r += kR) Tile<kR, T>::Run(w + r * row_bytes, row_bytes, x, y + r, y_stride);
  for (; r < r1; ++r) Tile<1, T>::Run(w + r * row_bytes, row_bytes, x, y + r, y_stride);
}
template <int R, int T>
struct Q4_KTile {
  FLOE_VNNI_ATTR static void Run(const uint8_t* w, size_t rb, const QuantizedActivations* x,
                                 float* y, size_t ys) {
    TileDotQ4_K<R, T>(w, rb, x, y, ys);
  }
};
template <int R, int T>
struct Q5_KTile {
  FLOE_VNNI_ATTR static void Run(const uint8_t* w, size_t rb, const QuantizedActivations* x,
                                 float* y, size_t ys) {
    TileDotQ4_K<R, T, true>(w, rb, x, y, ys);
  }
};
template <int R, int T>
struct Q6_KTile {
  FLOE_VNNI_ATTR static void Run(const uint8_t* w, size_t rb, const QuantizedActivations* x,
                                 float* y, size_t ys) {
    TileDotQ6_K<R, T>(w, rb, x, y, ys);
  }
};

// All tokens of a K-quant matrix's rows [r0, r1): 4-token tiles, then the 1-3 left.
template <template <int, int> class Tile>
FLOE_VNNI_ATTR HWY_NOINLINE void KQuantRows(const uint8_t* w, size_t row_bytes,
                                            const QuantizedActivations* x, size_t n_tokens,
                                            float* y, size_t y_stride, size_t r0, size_t r1) {
  size_t tok = 0;
  for (; tok + 4 <= n_tokens; tok += 4)
    TileRowsK<4, Tile>(w, row_bytes, x + tok, y + tok * y_stride, y_stride, r0, r1);
  switch (n_tokens - tok) {
    case 3:
      TileRowsK<3, Tile>(w, row_bytes, x + tok, y + tok * y_stride, y_stride, r0, r1);
      break;
    case 2:
      TileRowsK<2, Tile>(w, row_bytes, x + tok, y + tok * y_stride, y_stride, r0, r1);
      break;
    case 1:
      TileRowsK<1, Tile>(w, row_bytes, x + tok, y + tok * y_stride, y_stride, r0, r1);
      break;
    default:
      break;
  }
}
#undef FLOE_VNNI_ATTR
#endif  // HWY_TARGET == HWY_AVX3_DL

// Whether this target multiplies quantized weights with 8-bit activations for many tokens
// (prefill) too, so that prefill computes what decode (and llama.cpp) computes; elsewhere MatMul
// widens them to float panels. On AVX3_DL every quantized type does (Q4_0 / Q8_0 in VNNI tiles,
// the others row by row); other targets keep float panels, whose integer loops are slow.
HWY_INLINE bool IntegerQuantMatMulT(DType t) {
#if HWY_TARGET == HWY_AVX3_DL
  return IsQuantized(t);
#else
  (void)t;
  return false;
#endif
}

// Y[tok][r] (row stride y_stride) for r in [r0, r1) and tokens [0, n_tokens) of a quantized
// matrix (row stride row_bytes) with activations x[tok]. Each (row, token) value is the same
// whatever n_tokens, r0 and r1 are.
HWY_INLINE void QuantMatMulRowsT(DType t, const uint8_t* w, size_t row_bytes,
                                 const QuantizedActivations* x, size_t n_tokens, float* y,
                                 size_t y_stride, size_t r0, size_t r1) {
#if HWY_TARGET == HWY_AVX3_DL
  if (t == DType::kQ4_K)
    return KQuantRows<Q4_KTile>(w, row_bytes, x, n_tokens, y, y_stride, r0, r1);
  if (t == DType::kQ5_K)
    return KQuantRows<Q5_KTile>(w, row_bytes, x, n_tokens, y, y_stride, r0, r1);
  if (t == DType::kQ6_K)
    return KQuantRows<Q6_KTile>(w, row_bytes, x, n_tokens, y, y_stride, r0, r1);
  if (t == DType::kQ8_0 || t == DType::kQ4_0) {
    const bool q4 = t == DType::kQ4_0;
    size_t tok = 0;
    for (; tok + 4 <= n_tokens; tok += 4)
      TileRowsVnni<4>(q4, w, row_bytes, x + tok, y + tok * y_stride, y_stride, r0, r1);
    switch (n_tokens - tok) {
      case 3:
        TileRowsVnni<3>(q4, w, row_bytes, x + tok, y + tok * y_stride, y_stride, r0, r1);
        break;
      case 2:
        TileRowsVnni<2>(q4, w, row_bytes, x + tok, y + tok * y_stride, y_stride, r0, r1);
        break;
      case 1:
        TileRowsVnni<1>(q4, w, row_bytes, x + tok, y + tok * y_stride, y_stride, r0, r1);
        break;
      default:
        break;
    }
    return;
  }
#endif
  for (size_t tok = 0; tok < n_tokens; ++tok) {
    for (size_t r = r0; r < r1; ++r) {
      const uint8_t* row = w + r * row_bytes;
      float v = 0.0f;
      switch (t) {
#if HWY_TARGET == HWY_AVX3_DL
#else
        case DType::kQ8_0:
          v = RowDotQ8_0Generic(reinterpret_cast<const BlockQ8_0*>(row), x[tok]);
          break;
        case DType::kQ4_0:
          v = RowDotQ4_0Generic(reinterpret_cast<const BlockQ4_0*>(row), x[tok]);
          break;
        case DType::kQ4_K:
          v = RowDotQ4_KGeneric(reinterpret_cast<const BlockQ4_K*>(row), x[tok]);
          break;
        case DType::kQ6_K:
          v = RowDotQ6_KGeneric(reinterpret_cast<const BlockQ6_K*>(row), x[tok]);
          break;
#endif
        case DType::kQ5_0:
          v = RowDotQ5_0Generic(reinterpret_cast<const BlockQ5_0*>(row), x[tok]);
          break;
        case DType::kQ2_K:
          v = RowDotQ2_KGeneric(reinterpret_cast<const BlockQ2_K*>(row), x[tok]);
          break;
        case DType::kQ3_K:
          v = RowDotQ3_KGeneric(reinterpret_cast<const BlockQ3_K*>(row), x[tok]);
          break;
        case DType::kQ4_1:
          v = RowDotQx_1Generic<false>(reinterpret_cast<const BlockQ4_1*>(row), x[tok]);
          break;
        case DType::kQ5_1:
          v = RowDotQx_1Generic<true>(reinterpret_cast<const BlockQ5_1*>(row), x[tok]);
          break;
        case DType::kQ5_K:
          v = RowDotQ5_KGeneric(reinterpret_cast<const BlockQ5_K*>(row), x[tok]);
          break;
        default:
          break;
      }
      y[tok * y_stride + r] = v;
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#endif  // FLOE_QUANT_MATVEC_INL_H_
