// Per-target AVX-512 VNNI tiles of the quantized products (AVX3_DL only; the arithmetic
// contract is in quant_matvec-inl.h): Q4_0 / Q8_0 tiles of 4 blocks / 2 blocks per step, the
// K-quant tiles in llama.cpp's x86 order, and the row / token tiling that drives them.
// Re-included once per target via quant_matvec-inl.h.
#if defined(FLOE_QUANT_TILES_VNNI_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FLOE_QUANT_TILES_VNNI_INL_H_
#undef FLOE_QUANT_TILES_VNNI_INL_H_
#else
#define FLOE_QUANT_TILES_VNNI_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "platform/kernels/quant_rowdot-inl.h"
#include "platform/kernels/tile_prefetch.h"
#include "platform/quant/quant.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

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

// Decode (one token, several rows) streams each row ahead of its loads, on into the thread's next
// tile (see tile_prefetch.h). Prefill tiles reuse each row for several tokens and prefetch
// nothing.
template <int R, int T>
inline constexpr bool kRowTileStreams = T == 1 && R > 1;

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
  __m512 acc[R][T] = {};  // zeros
  const StreamAheadPrefetch prefetch(row_bytes, R);
  for (size_t g = 0; g < groups; ++g) {
    // Fully unrolled (R <= 8), so that acc[r][t] are registers, not stack slots.
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const uint8_t* p = w + size_t(r) * row_bytes + F::kGroupBytes * g;
      const __m512i v0 = _mm512_loadu_si512(p);
      const __m512i v1 = _mm512_loadu_si512(p + F::kSecondLoad);
      if constexpr (kRowTileStreams<R, T>)
        prefetch.AheadSpan<F::kGroupBytes>(p, F::kGroupBytes * g);
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

// y[t * y_stride + r] = ReduceKQuant(acc[r][t]).
template <int R, int T>
FLOE_VNNI_ATTR HWY_INLINE void StoreKQuantSums(const __m512 (&acc)[R][T], float* y,
                                               size_t y_stride) {
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) y[size_t(t) * y_stride + size_t(r)] = ReduceKQuant(acc[r][t]);
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
  __m512 acc[R][T] = {};  // zeros
  const StreamAheadPrefetch prefetch(row_bytes, R);
  for (size_t i = 0; i < blocks; ++i) {
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
      if constexpr (kRowTileStreams<R, T>) prefetch.AheadSpan<kBlockBytes>(blk, kBlockBytes * i);
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
      const __m512i smv = _mm512_zextsi128_si512(sm);
      const __m512i sc01 = _mm512_maskz_permutexvar_epi8(even, idx01, smv);
      const __m512i sc45 = _mm512_maskz_permutexvar_epi8(even, idx45, smv);
      const __m128i m16 = _mm_cvtepu8_epi16(_mm_srli_si128(sm, 8));
      int d_dmin;  // the f16 pair d, dmin
      std::memcpy(&d_dmin, blk, 4);
      const __m512 dw = _mm512_permutexvar_ps(
          d_lanes, _mm512_zextps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(d_dmin))));
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
  StoreKQuantSums<R, T>(acc, y, y_stride);
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
  __m512 acc[R][T] = {};  // zeros
  const StreamAheadPrefetch prefetch(row_bytes, R);
  for (size_t i = 0; i < blocks; ++i) {
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
      if constexpr (kRowTileStreams<R, T>) prefetch.AheadSpan<210>(blk, 210 * i);
      const __m512i sc16 = _mm512_cvtepi8_epi16(
          _mm256_zextsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192))));
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
  StoreKQuantSums<R, T>(acc, y, y_stride);
}

// The tiles of each format, as Tiles::Run<R, T>(w, row_bytes, x, y, y_stride).
template <class F>
struct BlockTiles {  // Q4_0 / Q8_0
  template <int R, int T>
  FLOE_VNNI_ATTR static void Run(const uint8_t* w, size_t rb, const QuantizedActivations* x,
                                 float* y, size_t ys) {
    TileDotVnni<F, R, T>(w, rb, x, y, ys);
  }
};
template <bool kQ5>
struct Q4_KTiles {  // Q4_K, Q5_K
  template <int R, int T>
  FLOE_VNNI_ATTR static void Run(const uint8_t* w, size_t rb, const QuantizedActivations* x,
                                 float* y, size_t ys) {
    TileDotQ4_K<R, T, kQ5>(w, rb, x, y, ys);
  }
};
struct Q6_KTiles {
  template <int R, int T>
  FLOE_VNNI_ATTR static void Run(const uint8_t* w, size_t rb, const QuantizedActivations* x,
                                 float* y, size_t ys) {
    TileDotQ6_K<R, T>(w, rb, x, y, ys);
  }
};

// Rows [r0, r1) for T tokens: tiles of 8 rows for one token (more independent row streams in
// flight than 4; docs/results/quantized-kernels.md), 4 rows x T tokens otherwise; then single
// rows.
template <int T, class Tiles>
FLOE_VNNI_ATTR HWY_INLINE void TileRows(const uint8_t* w, size_t row_bytes,
                                        const QuantizedActivations* x, float* y, size_t y_stride,
                                        size_t r0, size_t r1) {
  constexpr int kR = T == 1 ? 8 : 4;
  size_t r = r0;
  for (; r + kR <= r1; r += kR)
    Tiles::template Run<kR, T>(w + r * row_bytes, row_bytes, x, y + r, y_stride);
  for (; r < r1; ++r) Tiles::template Run<1, T>(w + r * row_bytes, row_bytes, x, y + r, y_stride);
}

// All tokens of rows [r0, r1): 4-token tiles, then the 1-3 left.
template <class Tiles>
FLOE_VNNI_ATTR HWY_NOINLINE void TiledRows(const uint8_t* w, size_t row_bytes,
                                           const QuantizedActivations* x, size_t n_tokens, float* y,
                                           size_t y_stride, size_t r0, size_t r1) {
  size_t tok = 0;
  for (; tok + 4 <= n_tokens; tok += 4)
    TileRows<4, Tiles>(w, row_bytes, x + tok, y + tok * y_stride, y_stride, r0, r1);
  switch (n_tokens - tok) {
    case 3:
      TileRows<3, Tiles>(w, row_bytes, x + tok, y + tok * y_stride, y_stride, r0, r1);
      break;
    case 2:
      TileRows<2, Tiles>(w, row_bytes, x + tok, y + tok * y_stride, y_stride, r0, r1);
      break;
    case 1:
      TileRows<1, Tiles>(w, row_bytes, x + tok, y + tok * y_stride, y_stride, r0, r1);
      break;
    default:
      break;
  }
}
#undef FLOE_VNNI_ATTR
#endif  // HWY_TARGET == HWY_AVX3_DL

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#endif  // FLOE_QUANT_TILES_VNNI_INL_H_
