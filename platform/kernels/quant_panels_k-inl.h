// Per-target products of Q4_K / Q6_K matrices in 16-row panels (platform/quant/row_panels.h,
// which states the layout and the arithmetic) with Q8_K activations: a portable scalar loop, and
// on AVX3_DL tiles of panels x tokens whose vpdpbusd lanes are the panel's 16 rows, and AMX tiles
// of 16 tokens x 16 rows per sub-block for prefill. All compute, for each (row, token), the same
// exact integer block sums and the same float steps in the same order, so every target, tile
// shape and token count gives the same bits.
// Re-included once per target via quant_matvec-inl.h, after quant_panels-inl.h.
#if defined(FLOE_QUANT_PANELS_K_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FLOE_QUANT_PANELS_K_INL_H_
#undef FLOE_QUANT_PANELS_K_INL_H_
#else
#define FLOE_QUANT_PANELS_K_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "platform/kernels/amx.h"
#include "platform/kernels/tile_prefetch.h"
#include "platform/quant/quant.h"
#include "platform/quant/row_panels.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {

// Sub-block j's (32 elements) activation sum of K-quant block b.
HWY_INLINE int32_t KSubBlockSum(const QuantizedActivations& x, size_t b, size_t j) {
  return x.sum16[16 * b + 2 * j] + x.sum16[16 * b + 2 * j + 1];
}

// Q6_K's code (0..63) of row i, element e of sub-block sb, in a panel group (row_panels.h).
HWY_INLINE int32_t Q6KPanelCode(const uint8_t* g, size_t i, size_t sb, size_t e) {
  const uint8_t* word = g + 64 * (12 * (sb / 4) + 3 * (e / 4)) + 4 * i + e % 4;
  if (sb % 4 < 3) return word[64 * (sb % 4)] >> 2;
  return (word[0] & 3) | (word[64] & 3) << 2 | (word[128] & 3) << 4;
}

// Portable: rows [r0, r1) (multiples of 16) and tokens [0, n_tokens), one (row, token) at a time.
template <bool kQ6>
HWY_INLINE void PanelRowsKGeneric(const uint8_t* w, size_t row_bytes, const QuantizedActivations* x,
                                  size_t n_tokens, float* y, size_t y_stride, size_t r0,
                                  size_t r1) {
  constexpr size_t kGroupBytes = 16 * (kQ6 ? 210 : 144);
  const size_t blocks = x[0].n / 256;
  for (size_t tok = 0; tok < n_tokens; ++tok)
    for (size_t r = r0; r < r1; ++r) {
      const uint8_t* panel = w + (r / 16) * 16 * row_bytes;
      const size_t i = r % 16;
      float acc = 0.0f;
      for (size_t b = 0; b < blocks; ++b) {
        const uint8_t* g = panel + b * kGroupBytes;
        const int8_t* a = x[tok].q + 256 * b;
        const float da = x[tok].d[8 * b];
        int32_t isum = 0;
        uint16_t d;
        if constexpr (kQ6) {
          for (size_t sb = 0; sb < 16; ++sb) {
            int32_t s = 0;
            for (size_t e = 0; e < 16; ++e) s += (Q6KPanelCode(g, i, sb, e) - 32) * a[16 * sb + e];
            isum += int32_t(int8_t(g[kQ6KPanelScales + 16 * sb + i])) * s;
          }
          std::memcpy(&d, g + kQ6KPanelD + 2 * i, 2);
          acc = std::fma(float(isum), F16ToF32(d) * da, acc);
        } else {
          uint8_t scales[12];
          for (size_t k = 0; k < 3; ++k)
            std::memcpy(scales + 4 * k, g + kQ4KPanelScales + 64 * k + 4 * i, 4);
          int32_t msum = 0;
          for (size_t j = 0; j < 8; ++j) {
            int32_t s = 0;
            for (size_t e = 0; e < 32; ++e) {
              const uint8_t q = g[kQ4KPanelQs + 64 * (8 * (j / 2) + e / 4) + 4 * i + e % 4];
              s += int32_t(j % 2 ? q >> 4 : q & 15) * a[32 * j + e];
            }
            uint8_t sc, m;
            Q4KScaleMin(scales, int(j), &sc, &m);
            isum += int32_t(sc) * s;
            msum += int32_t(m) * KSubBlockSum(x[tok], b, j);
          }
          uint16_t dmin;
          std::memcpy(&d, g + 2 * i, 2);
          std::memcpy(&dmin, g + kQ4KPanelDmin + 2 * i, 2);
          acc = std::fma(float(isum), F16ToF32(d) * da, acc);
          acc = std::fma(float(msum), -(F16ToF32(dmin) * da), acc);
        }
      }
      y[tok * y_stride + r] = acc;
    }
}

#if HWY_TARGET == HWY_AVX3_DL
#define FLOE_PANEL_VNNI_ATTR __attribute__((target("avx512vnni")))

// The 16 rows' Q4_K scales (sc0..sc3 | sc4..sc7) and mins (m0..m3 | m4..m7), one byte each per
// int32 lane, from the group's 3 scale words (Q4KScaleMin on 16 rows at once).
struct Q4KPanelScales {
  __m512i sc_lo, sc_hi, m_lo, m_hi;
};
FLOE_PANEL_VNNI_ATTR HWY_INLINE Q4KPanelScales LoadQ4KPanelScales(const uint8_t* group) {
  const __m512i u0 = _mm512_loadu_si512(group + kQ4KPanelScales);
  const __m512i u1 = _mm512_loadu_si512(group + kQ4KPanelScales + 64);
  const __m512i u2 = _mm512_loadu_si512(group + kQ4KPanelScales + 128);
  const __m512i six = _mm512_set1_epi8(0x3F), four = _mm512_set1_epi8(0x0F),
                two = _mm512_set1_epi8(0x03);
  Q4KPanelScales s;
  s.sc_lo = _mm512_and_si512(u0, six);
  s.m_lo = _mm512_and_si512(u1, six);
  s.sc_hi = _mm512_or_si512(_mm512_and_si512(u2, four),
                            _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u0, 6), two), 4));
  s.m_hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(u2, 4), four),
                           _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(u1, 6), two), 4));
  return s;
}
// Sub-block j's scale of the 16 rows as int32 lanes.
FLOE_PANEL_VNNI_ATTR HWY_INLINE __m512i Q4KSubScale(const Q4KPanelScales& s, int j) {
  const __m512i v = j < 4 ? s.sc_lo : s.sc_hi;
  return _mm512_and_si512(_mm512_srli_epi32(v, 8 * (j % 4)), _mm512_set1_epi32(0xFF));
}
// The mins as int16 pairs per lane: (m0, m2), (m1, m3), (m4, m6), (m5, m7).
FLOE_PANEL_VNNI_ATTR HWY_INLINE void Q4KMinPairs(const Q4KPanelScales& s, __m512i (&pairs)[4]) {
  const __m512i even = _mm512_set1_epi32(0x00FF00FF);
  pairs[0] = _mm512_and_si512(s.m_lo, even);
  pairs[1] = _mm512_and_si512(_mm512_srli_epi32(s.m_lo, 8), even);
  pairs[2] = _mm512_and_si512(s.m_hi, even);
  pairs[3] = _mm512_and_si512(_mm512_srli_epi32(s.m_hi, 8), even);
}
// msum of the 16 rows for one token: sum of m_j x sub-block sums (exact; |sum| < 2^15 each).
// The sub-block sums are x.k_pairs of the block (quant.h), in Q4KMinPairs' order.
FLOE_PANEL_VNNI_ATTR HWY_INLINE __m512i Q4KMinSum(const __m512i (&m)[4],
                                                  const QuantizedActivations& x, size_t b) {
  __m512i v = _mm512_setzero_si512();
  for (int k = 0; k < 4; ++k)
    v = _mm512_dpwssd_epi32(v, m[k], _mm512_set1_epi32(x.k_pairs[4 * b + size_t(k)]));
  return v;
}
// The float steps of one block for 16 rows (row_panels.h): the one place the VNNI and AMX tiles
// take them from.
HWY_INLINE __m512 KPanelFloatStep(__m512i isum, __m512 dw, float da, __m512 acc) {
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(dw, _mm512_set1_ps(da)), acc);
}
HWY_INLINE __m512 KPanelMinStep(__m512i msum, __m512 dmin, float da, __m512 acc) {
  return _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum), _mm512_mul_ps(dmin, _mm512_set1_ps(da)), acc);
}
FLOE_PANEL_VNNI_ATTR HWY_INLINE __m512 LoadF16x16(const uint8_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Broadcasts the 4 activation codes at q (one vpdpbusd operand).
HWY_INLINE __m512i Broadcast4(const int8_t* q) {
  int32_t v;
  std::memcpy(&v, q, 4);
  return _mm512_set1_epi32(v);
}

// Q4_K: y[t * y_stride + 16 p + i] for panels p < P (panel_bytes apart) and tokens t < T <= 4.
// Per block, and per pair of sub-blocks 2jj, 2jj + 1 (the low and high nibbles of the same 8
// lines): each line's codes go to every panel's and token's vpdpbusd at once (panels innermost,
// so each broadcast activation word is used while it is live); isum += s_j x sc_j; msum by
// vpdpwssd of the mins with the sub-block sums. The high nibbles go in as they lie (byte & 0xF0,
// 16 x the code, no shift), the low ones' scales x 16, so the tiles sum 16 x isum exactly
// (|16 x isum| < 2^29) and shift it back once per block.
template <int P, int T>
FLOE_PANEL_VNNI_ATTR HWY_NOINLINE void PanelTileQ4KVnni(const uint8_t* w, size_t panel_bytes,
                                                        const QuantizedActivations* x, float* y,
                                                        size_t y_stride) {
  static_assert(T <= 4, "registers: s_lo, s_hi, isum and acc per (panel, token)");
  constexpr size_t kGroupBytes = 16 * 144;
  const size_t blocks = x[0].n / 256;
  const __m512i low4 = _mm512_set1_epi8(0x0F), high4 = _mm512_set1_epi8(char(0xF0));
  __m512 acc[P][T];
  for (int p = 0; p < P; ++p)
    for (int t = 0; t < T; ++t) acc[p][t] = _mm512_setzero_ps();
  const StreamAheadPrefetch prefetch(panel_bytes, P);  // each line loaded (tile_prefetch.h)
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* g0 = w + b * kGroupBytes;
    __m512i isum[P][T];
    Q4KPanelScales scales[P];
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      for (int t = 0; t < T; ++t) isum[p][t] = _mm512_setzero_si512();
      scales[p] = LoadQ4KPanelScales(g0 + p * panel_bytes);
      prefetch.AheadSpan<kQ4KPanelQs>(g0 + p * panel_bytes, b * kGroupBytes);  // d, dmin, scales
    }
#pragma GCC unroll 4
    for (int jj = 0; jj < 4; ++jj) {
      __m512i s_lo[P][T], s_hi[P][T];
      for (int p = 0; p < P; ++p)
        for (int t = 0; t < T; ++t) s_lo[p][t] = s_hi[p][t] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        __m512i a_lo[T], a_hi[T];
        for (int t = 0; t < T; ++t) {
          const int8_t* a = x[t].q + 256 * b + 64 * jj + 4 * k;
          a_lo[t] = Broadcast4(a);
          a_hi[t] = Broadcast4(a + 32);
        }
#pragma GCC unroll 4
        for (int p = 0; p < P; ++p) {
          const size_t offset = kQ4KPanelQs + 64 * (8 * jj + k);  // in the group
          const __m512i raw = _mm512_loadu_si512(g0 + p * panel_bytes + offset);
          prefetch.Ahead(g0 + p * panel_bytes + offset, b * kGroupBytes + offset);
          const __m512i lo = _mm512_and_si512(raw, low4);
          const __m512i hi = _mm512_and_si512(raw, high4);
          for (int t = 0; t < T; ++t) {
            s_lo[p][t] = _mm512_dpbusd_epi32(s_lo[p][t], lo, a_lo[t]);
            s_hi[p][t] = _mm512_dpbusd_epi32(s_hi[p][t], hi, a_hi[t]);
          }
        }
      }
#pragma GCC unroll 4
      for (int p = 0; p < P; ++p) {
        const __m512i sc_lo = _mm512_slli_epi32(Q4KSubScale(scales[p], 2 * jj), 4);  // x 16
        const __m512i sc_hi = Q4KSubScale(scales[p], 2 * jj + 1);
        for (int t = 0; t < T; ++t)
          isum[p][t] =
              _mm512_add_epi32(_mm512_add_epi32(isum[p][t], _mm512_mullo_epi32(s_lo[p][t], sc_lo)),
                               _mm512_mullo_epi32(s_hi[p][t], sc_hi));
      }
    }
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const uint8_t* g = g0 + p * panel_bytes;
      __m512i mins[4];
      Q4KMinPairs(scales[p], mins);
      const __m512 dw = LoadF16x16(g), dmin = LoadF16x16(g + kQ4KPanelDmin);
      for (int t = 0; t < T; ++t) {
        const float da = x[t].d[8 * b];
        acc[p][t] = KPanelFloatStep(_mm512_srai_epi32(isum[p][t], 4), dw, da, acc[p][t]);
        acc[p][t] = KPanelMinStep(Q4KMinSum(mins, x[t], b), dmin, da, acc[p][t]);
      }
    }
  }
  for (int p = 0; p < P; ++p)
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + size_t(t) * y_stride + 16 * p, acc[p][t]);
}

// Bitwise select: the bits of a where mask is set, of b elsewhere.
FLOE_PANEL_VNNI_ATTR HWY_INLINE __m512i SelectBits(__m512i mask, __m512i a, __m512i b) {
  return _mm512_ternarylogic_epi32(a, b, mask, 0xE4);
}
// The codes of sub-blocks 4u .. 4u + 3, word k, for the 16 rows, from that word's lines A, B, C
// (row_panels.h): c[0..2] = 4 x the codes of sub-blocks 4u .. 4u + 2 (A, B, C & 0xFC), c[3] the
// codes of sub-block 4u + 3 (bits 0-1 of A, of B at 2-3, of C at 4-5). The 16-bit shifts carry
// a byte's top bits into the next byte's bits the selects take from A and from the first select.
FLOE_PANEL_VNNI_ATTR HWY_INLINE void Q6KCodes(const uint8_t* lines, __m512i (&c)[4]) {
  const __m512i a = _mm512_loadu_si512(lines), b = _mm512_loadu_si512(lines + 64),
                cc = _mm512_loadu_si512(lines + 128);
  const __m512i top6 = _mm512_set1_epi8(char(0xFC));
  c[0] = _mm512_and_si512(a, top6);
  c[1] = _mm512_and_si512(b, top6);
  c[2] = _mm512_and_si512(cc, top6);
  const __m512i ab = SelectBits(_mm512_set1_epi8(0x03), a, _mm512_slli_epi16(b, 2));
  const __m512i abc = SelectBits(_mm512_set1_epi8(0x0F), ab, _mm512_slli_epi16(cc, 4));
  c[3] = _mm512_and_si512(abc, _mm512_set1_epi8(0x3F));
}
// Sub-block sb's scale of the 16 rows, sign-extended to int32 lanes.
FLOE_PANEL_VNNI_ATTR HWY_INLINE __m512i Q6KSubScale(const uint8_t* group, int sb) {
  return _mm512_cvtepi8_epi32(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(group + kQ6KPanelScales + 16 * sb)));
}

// Q6_K: per block, and per group u of sub-blocks 4u .. 4u + 3, one sum per sub-block, started at
// -32 x its activation sum (-128 for the first three, whose codes come as 4 x the code) and taking
// a vpdpbusd per word (panels innermost, as for Q4_K); isum += s x sc, with sub-block 4u + 3's
// scale x 4, so the tiles sum 4 x isum exactly (|4 x isum| < 2^30) and shift it back per block.
template <int P, int T>
FLOE_PANEL_VNNI_ATTR HWY_NOINLINE void PanelTileQ6KVnni(const uint8_t* w, size_t panel_bytes,
                                                        const QuantizedActivations* x, float* y,
                                                        size_t y_stride) {
  static_assert(P * T <= 2, "registers: 4 sums, isum and acc per (panel, token)");
  constexpr size_t kGroupBytes = 16 * 210;
  const size_t blocks = x[0].n / 256;
  __m512 acc[P][T];
  for (int p = 0; p < P; ++p)
    for (int t = 0; t < T; ++t) acc[p][t] = _mm512_setzero_ps();
  const StreamAheadPrefetch prefetch(panel_bytes, P);  // each line loaded (tile_prefetch.h)
  for (size_t b = 0; b < blocks; ++b) {
    const uint8_t* g0 = w + b * kGroupBytes;
    __m512i isum[P][T];
    for (int p = 0; p < P; ++p)
      for (int t = 0; t < T; ++t) isum[p][t] = _mm512_setzero_si512();
#pragma GCC unroll 1
    for (int u = 0; u < 4; ++u) {  // not unrolled: GCC would keep all 16 sums to the end
      __m512i s[4][P][T];
      for (int t = 0; t < T; ++t)
        for (int c = 0; c < 4; ++c) {
          const int32_t offset = c < 3 ? -128 : -32;
          const __m512i start = _mm512_set1_epi32(offset * x[t].sum16[16 * b + size_t(4 * u + c)]);
          for (int p = 0; p < P; ++p) s[c][p][t] = start;
        }
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
#pragma GCC unroll 2
        for (int p = 0; p < P; ++p) {
          const size_t offset = 64 * (12 * u + 3 * k);  // in the group
          __m512i codes[4];
          Q6KCodes(g0 + p * panel_bytes + offset, codes);
          prefetch.AheadSpan<192>(g0 + p * panel_bytes + offset, b * kGroupBytes + offset);
          for (int t = 0; t < T; ++t)
            for (int c = 0; c < 4; ++c)
              s[c][p][t] = _mm512_dpbusd_epi32(
                  s[c][p][t], codes[c], Broadcast4(x[t].q + 256 * b + 16 * (4 * u + c) + 4 * k));
        }
      }
#pragma GCC unroll 2
      for (int p = 0; p < P; ++p) {
        const size_t offset = kQ6KPanelScales + 64 * u;  // 4 sub-blocks' scales
        prefetch.Ahead(g0 + p * panel_bytes + offset, b * kGroupBytes + offset);
        for (int c = 0; c < 4; ++c) {
          __m512i sc = Q6KSubScale(g0 + p * panel_bytes, 4 * u + c);
          if (c == 3) sc = _mm512_slli_epi32(sc, 2);
          for (int t = 0; t < T; ++t)
            isum[p][t] = _mm512_add_epi32(isum[p][t], _mm512_mullo_epi32(s[c][p][t], sc));
        }
      }
    }
#pragma GCC unroll 2
    for (int p = 0; p < P; ++p) {
      prefetch.Ahead(g0 + p * panel_bytes + kQ6KPanelD, b * kGroupBytes + kQ6KPanelD);
      const __m512 dw = LoadF16x16(g0 + p * panel_bytes + kQ6KPanelD);
      for (int t = 0; t < T; ++t)
        acc[p][t] = KPanelFloatStep(_mm512_srai_epi32(isum[p][t], 2), dw, x[t].d[8 * b], acc[p][t]);
    }
  }
  for (int p = 0; p < P; ++p)
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + size_t(t) * y_stride + 16 * p, acc[p][t]);
}

template <bool kQ6>
struct KPanelTiles {
  static constexpr int kDecodePanels = 2;
  template <int P, int T>
  FLOE_PANEL_VNNI_ATTR static void Run(const uint8_t* w, size_t panel_bytes,
                                       const QuantizedActivations* x, float* y, size_t ys) {
    constexpr int kMaxT = kQ6 ? 2 : 4;  // the registers
    if constexpr (T > kMaxT) {
      Run<P, kMaxT>(w, panel_bytes, x, y, ys);
      Run<P, T - kMaxT>(w, panel_bytes, x + kMaxT, y + kMaxT * ys, ys);
    } else if constexpr (kQ6 && P * T > 2) {  // panel by panel
      for (int p = 0; p < P; ++p)
        PanelTileQ6KVnni<1, T>(w + p * panel_bytes, panel_bytes, x, y + 16 * p, ys);
    } else if constexpr (kQ6) {
      PanelTileQ6KVnni<P, T>(w, panel_bytes, x, y, ys);
    } else {
      PanelTileQ4KVnni<P, T>(w, panel_bytes, x, y, ys);
    }
  }
};
#undef FLOE_PANEL_VNNI_ATTR

// ------------------------------ AMX (prefill)
// Per sub-block one tdpbssd of A (16 tokens x the sub-block's activation codes) by B (the
// sub-block's unpacked codes: Q4_K 8 words x 16 rows x 4, Q6_K 4 words, the codes - 32) gives
// s for 16 tokens x 16 rows; then isum += s x sc and the float steps of the VNNI tiles.
#define FLOE_PANEL_AMX_ATTR __attribute__((target("avx512vnni,amx-tile,amx-int8")))

// K-quant blocks of one panel per pass: their unpacked codes (4 KiB per block) on the stack.
inline constexpr size_t kAmxPassKBlocks = 4;

// The codes of blocks [b0, b1) of a panel, 4 KiB per block in B-tile order: Q4_K 8 tiles of 512
// bytes (sub-block order), Q6_K 16 tiles of 256.
template <bool kQ6>
FLOE_PANEL_AMX_ATTR HWY_INLINE void UnpackKPanel(const uint8_t* panel, size_t b0, size_t b1,
                                                 int8_t* out) {
  constexpr size_t kGroupBytes = 16 * (kQ6 ? 210 : 144);
  const __m512i low4 = _mm512_set1_epi8(0x0F);
  for (size_t b = b0; b < b1; ++b, out += 4096) {
    const uint8_t* g = panel + b * kGroupBytes;
    if constexpr (kQ6) {
      const __m512i k32 = _mm512_set1_epi8(32);
      for (int u = 0; u < 4; ++u)
        for (int k = 0; k < 4; ++k) {
          __m512i codes[4];
          Q6KCodes(g + 64 * (12 * u + 3 * k), codes);
          for (int c = 0; c < 3; ++c)  // 4 x the code, bits 0-1 clear: the shift takes no carry
            codes[c] = _mm512_srli_epi16(codes[c], 2);
          for (int c = 0; c < 4; ++c)
            _mm512_storeu_si512(out + 256 * (4 * u + c) + 64 * k, _mm512_sub_epi8(codes[c], k32));
        }
    } else {
      for (int k = 0; k < 32; ++k) {
        const __m512i raw = _mm512_loadu_si512(g + kQ4KPanelQs + 64 * k);
        const int sub = 2 * (k / 8), line = k % 8;
        _mm512_storeu_si512(out + 512 * sub + 64 * line, _mm512_and_si512(raw, low4));
        _mm512_storeu_si512(out + 512 * (sub + 1) + 64 * line,
                            _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4));
      }
    }
  }
}

// Panels [p0, p1) x `groups` groups of 16 tokens, token t's codes at x[0].q + t x a_stride.
// Caller: AmxInt8Usable().
template <bool kQ6>
FLOE_PANEL_AMX_ATTR HWY_NOINLINE void PanelRowsKAmx(const uint8_t* w, size_t row_bytes,
                                                    const QuantizedActivations* x, size_t groups,
                                                    size_t a_stride, float* y, size_t y_stride,
                                                    size_t p0, size_t p1) {
  constexpr size_t kGroupBytes = 16 * (kQ6 ? 210 : 144);
  constexpr int kSubs = kQ6 ? 16 : 8, kSubElems = 256 / kSubs, kTileBytes = 4096 / kSubs;
  const size_t blocks = x[0].n / 256, panel_bytes = 16 * row_bytes;
  AmxTileConfig cfg;
  for (int i : {0, 1}) cfg.colsb[i] = 64, cfg.rows[i] = 16;             // C
  for (int i : {2, 3}) cfg.colsb[i] = kSubElems, cfg.rows[i] = 16;      // A
  for (int i : {4, 5}) cfg.colsb[i] = 64, cfg.rows[i] = kSubElems / 4;  // B
  _tile_loadconfig(&cfg);
  alignas(64) int8_t unpacked[kAmxPassKBlocks * 4096];
  alignas(64) float accs[kAmxPassGroups][16][16];
  alignas(64) int32_t sums[2 * 16 * 16];
  for (size_t p = p0; p < p1; ++p) {
    const uint8_t* panel = w + p * panel_bytes;
    for (size_t g0 = 0; g0 < groups; g0 += kAmxPassGroups) {
      const size_t gn = groups - g0 < kAmxPassGroups ? groups - g0 : kAmxPassGroups;
      std::memset(accs, 0, sizeof accs);
      for (size_t b0 = 0; b0 < blocks; b0 += kAmxPassKBlocks) {
        const size_t b1 = blocks - b0 < kAmxPassKBlocks ? blocks : b0 + kAmxPassKBlocks;
        UnpackKPanel<kQ6>(panel, b0, b1, unpacked);
        for (size_t grp = g0; grp < g0 + gn; ++grp) {
          const QuantizedActivations* xt = x + 16 * grp;
          const int8_t* a = x[0].q + 16 * grp * a_stride;
          for (size_t b = b0; b < b1; ++b) {
            const uint8_t* g = panel + b * kGroupBytes;
            const int8_t* codes = unpacked + (b - b0) * 4096;
            __m512i isum[16];
            for (int t = 0; t < 16; ++t) isum[t] = _mm512_setzero_si512();
            Q4KPanelScales q4k_scales;
            if constexpr (!kQ6) q4k_scales = LoadQ4KPanelScales(g);
            // Two sub-blocks per step in their own tiles, so that one's tile product overlaps
            // the other's scaling.
            for (int sb = 0; sb < kSubs; sb += 2) {
              _tile_zero(0);
              _tile_zero(1);
              _tile_loadd(2, a + 256 * b + kSubElems * sb, a_stride);
              _tile_loadd(3, a + 256 * b + kSubElems * (sb + 1), a_stride);
              _tile_loadd(4, codes + kTileBytes * sb, 64);
              _tile_loadd(5, codes + kTileBytes * (sb + 1), 64);
              _tile_dpbssd(0, 2, 4);
              _tile_dpbssd(1, 3, 5);
              _tile_stored(0, sums, 64);
              _tile_stored(1, sums + 256, 64);
              for (int half = 0; half < 2; ++half) {
                __m512i sc;
                if constexpr (kQ6)
                  sc = Q6KSubScale(g, sb + half);
                else
                  sc = Q4KSubScale(q4k_scales, sb + half);
#pragma GCC unroll 16
                for (int t = 0; t < 16; ++t)
                  isum[t] = _mm512_add_epi32(
                      isum[t],
                      _mm512_mullo_epi32(_mm512_load_si512(sums + 256 * half + 16 * t), sc));
              }
            }
            float(&acc)[16][16] = accs[grp - g0];
            if constexpr (kQ6) {
              const __m512 dw = LoadF16x16(g + kQ6KPanelD);
#pragma GCC unroll 16
              for (int t = 0; t < 16; ++t)
                _mm512_store_ps(
                    acc[t], KPanelFloatStep(isum[t], dw, xt[t].d[8 * b], _mm512_load_ps(acc[t])));
            } else {
              __m512i mins[4];
              Q4KMinPairs(q4k_scales, mins);
              const __m512 dw = LoadF16x16(g), dmin = LoadF16x16(g + kQ4KPanelDmin);
#pragma GCC unroll 4
              for (int t = 0; t < 16; ++t) {
                const float da = xt[t].d[8 * b];
                const __m512 v = KPanelFloatStep(isum[t], dw, da, _mm512_load_ps(acc[t]));
                _mm512_store_ps(acc[t], KPanelMinStep(Q4KMinSum(mins, xt[t], b), dmin, da, v));
              }
            }
          }
        }
      }
      for (size_t grp = g0; grp < g0 + gn; ++grp)
        for (size_t t = 0; t < 16; ++t)
          std::memcpy(y + (16 * grp + t) * y_stride + 16 * p, accs[grp - g0][t],
                      16 * sizeof(float));
    }
  }
  _tile_release();
}
#undef FLOE_PANEL_AMX_ATTR

template <bool kQ6>
struct KPanelAmx {
  static void Run(const uint8_t* w, size_t row_bytes, const QuantizedActivations* x, size_t groups,
                  size_t a_stride, float* y, size_t y_stride, size_t p0, size_t p1) {
    PanelRowsKAmx<kQ6>(w, row_bytes, x, groups, a_stride, y, y_stride, p0, p1);
  }
};
#endif  // HWY_TARGET == HWY_AVX3_DL

// The K-quant panel product for rows [r0, r1) (multiples of 16) on this target.
template <bool kQ6>
HWY_INLINE void PanelRowsKT(const uint8_t* w, size_t row_bytes, const QuantizedActivations* x,
                            size_t n_tokens, float* y, size_t y_stride, size_t r0, size_t r1) {
#if HWY_TARGET == HWY_AVX3_DL
  PanelRowsAvx3Dl<KPanelTiles<kQ6>, KPanelAmx<kQ6>>(w, row_bytes, x, n_tokens, y, y_stride, r0, r1);
#else
  PanelRowsKGeneric<kQ6>(w, row_bytes, x, n_tokens, y, y_stride, r0, r1);
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#endif  // FLOE_QUANT_PANELS_K_INL_H_
