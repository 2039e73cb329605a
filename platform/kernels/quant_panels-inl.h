// Per-target products of Q4_0 / Q8_0 matrices in 16-row panels (platform/quant/row_panels.h,
// which states the layout and the arithmetic) with 8-bit activations: a portable scalar loop,
// and on AVX3_DL (AVX-512 VNNI) tiles of several panels x tokens whose vpdpbusd lanes are the
// panel's 16 rows. Both compute, for each (row, token), the same float operations in the same
// order, so every target, tile shape and token count gives the same bits.
// Re-included once per target via quant_matvec-inl.h.
#if defined(FLOE_QUANT_PANELS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FLOE_QUANT_PANELS_INL_H_
#undef FLOE_QUANT_PANELS_INL_H_
#else
#define FLOE_QUANT_PANELS_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "hwy/highway.h"
#include "platform/kernels/amx.h"
#include "platform/kernels/tile_prefetch.h"
#include "platform/quant/quant.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {

// Block b's activation code sum (the Q4_0 offset -8 and the VNNI +128 fold into it exactly).
HWY_INLINE int32_t PanelBlockSum(const QuantizedActivations& x, size_t b) {
  return x.sum16[2 * b] + x.sum16[2 * b + 1];
}

// Portable: rows [r0, r1) (multiples of 16) and tokens [0, n_tokens), one (row, token) at a time.
template <bool kQ4>
HWY_INLINE void PanelRowsGeneric(const uint8_t* w, size_t row_bytes, const QuantizedActivations* x,
                                 size_t n_tokens, float* y, size_t y_stride, size_t r0, size_t r1) {
  constexpr size_t kBlockBytes = kQ4 ? 18 : 34, kWords = kQ4 ? 4 : 8;
  const size_t blocks = x[0].n / 32;
  for (size_t tok = 0; tok < n_tokens; ++tok)
    for (size_t r = r0; r < r1; ++r) {
      const uint8_t* panel = w + (r / 16) * 16 * row_bytes;
      const size_t i = r % 16;
      float acc = 0.0f;
      for (size_t b = 0; b < blocks; ++b) {
        const uint8_t* g = panel + b * 16 * kBlockBytes;
        const int8_t* a = x[tok].q + 32 * b;
        int32_t s = 0;
        for (size_t k = 0; k < kWords; ++k) {
          const uint8_t* word = g + 32 + 64 * k + 4 * i;
          for (size_t j = 0; j < 4; ++j) {
            if constexpr (kQ4) {
              s += (int32_t(word[j] & 15) - 8) * a[4 * k + j];
              s += (int32_t(word[j] >> 4) - 8) * a[16 + 4 * k + j];
            } else {
              s += int32_t(int8_t(word[j])) * a[4 * k + j];
            }
          }
        }
        uint16_t dw;
        std::memcpy(&dw, g + 2 * i, 2);
        acc = std::fma(float(s), F16ToF32(dw) * x[tok].d[b], acc);
      }
      y[tok * y_stride + r] = acc;
    }
}

#if HWY_TARGET == HWY_AVX3_DL
#define FLOE_PANEL_VNNI_ATTR __attribute__((target("avx512vnni")))

// The float step of the panel arithmetic, for 16 rows of one (block, token): s holds the rows'
// exact block sums, dw their weight scales, da the token's activation scale. The one place both
// the VNNI and the AMX tiles take it from, which is why they agree bit for bit.
HWY_INLINE __m512 PanelFloatStep(__m512i s, __m512 dw, float da, __m512 acc) {
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw, _mm512_set1_ps(da)), acc);
}

// y[t * y_stride + 16 p + i] for row i of panels p < P (the first at w, panel_bytes apart) and
// tokens t < T. Per block and (panel, token): one int32 vector starts at -8 or -128 x the block's
// activation sum and takes 8 vpdpbusd of 4 weight codes per row (unsigned: Q4_0 nibbles, Q8_0
// codes + 128) by 4 broadcast activation codes; then acc = fma(float(s), dw x da, acc).
// Q4_0's high nibbles go in as they lie (16 x the code, byte & 0xF0, no shift) into a second
// vector: s += h >> 4 is exact, as h is 16 x an exact sum.
template <bool kQ4, int P, int T>
FLOE_PANEL_VNNI_ATTR HWY_NOINLINE void PanelTileVnni(const uint8_t* w, size_t panel_bytes,
                                                     const QuantizedActivations* x, float* y,
                                                     size_t y_stride) {
  constexpr size_t kGroupBytes = 16 * (kQ4 ? 18 : 34);
  constexpr int32_t kOffset = kQ4 ? -8 : -128;
  const size_t blocks = x[0].n / 32;
  __m512 acc[P][T];
  for (int p = 0; p < P; ++p)
    for (int t = 0; t < T; ++t) acc[p][t] = _mm512_setzero_ps();
  const StreamAheadPrefetch prefetch(panel_bytes, P);  // each line loaded (tile_prefetch.h)
  for (size_t b = 0; b < blocks; ++b) {
    __m512i s[P][T], h[P][T];
    const int8_t* a[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      a[t] = x[t].q + 32 * b;
      const __m512i start = _mm512_set1_epi32(kOffset * PanelBlockSum(x[t], b));
      for (int p = 0; p < P; ++p) s[p][t] = start, h[p][t] = _mm512_setzero_si512();
    }
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const size_t offset = b * kGroupBytes + 32;  // of the codes in their panel
      const uint8_t* g = w + p * panel_bytes + offset;
      prefetch.Ahead(g - 32, offset - 32);         // d
      if constexpr (kQ4) {
        const __m512i low4 = _mm512_set1_epi8(0x0F), high4 = _mm512_set1_epi8(char(0xF0));
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
          const __m512i raw = _mm512_loadu_si512(g + 64 * k);
          prefetch.Ahead(g + 64 * k, offset + 64 * k);
          const __m512i lo = _mm512_and_si512(raw, low4);
          const __m512i hi = _mm512_and_si512(raw, high4);
#pragma GCC unroll 8
          for (int t = 0; t < T; ++t) {
            int32_t a_lo, a_hi;
            std::memcpy(&a_lo, a[t] + 4 * k, 4);
            std::memcpy(&a_hi, a[t] + 16 + 4 * k, 4);
            s[p][t] = _mm512_dpbusd_epi32(s[p][t], lo, _mm512_set1_epi32(a_lo));
            h[p][t] = _mm512_dpbusd_epi32(h[p][t], hi, _mm512_set1_epi32(a_hi));
          }
        }
      } else {
        const __m512i flip = _mm512_set1_epi8(char(0x80));
#pragma GCC unroll 8
        for (int k = 0; k < 8; ++k) {
          const __m512i u = _mm512_xor_si512(_mm512_loadu_si512(g + 64 * k), flip);
          prefetch.Ahead(g + 64 * k, offset + 64 * k);
#pragma GCC unroll 8
          for (int t = 0; t < T; ++t) {
            int32_t a4;
            std::memcpy(&a4, a[t] + 4 * k, 4);
            s[p][t] = _mm512_dpbusd_epi32(s[p][t], u, _mm512_set1_epi32(a4));
          }
        }
      }
    }
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p) {
      const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(
          reinterpret_cast<const __m256i*>(w + p * panel_bytes + b * kGroupBytes)));
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        if constexpr (kQ4) s[p][t] = _mm512_add_epi32(s[p][t], _mm512_srai_epi32(h[p][t], 4));
        acc[p][t] = PanelFloatStep(s[p][t], dw, x[t].d[b], acc[p][t]);
      }
    }
  }
  for (int p = 0; p < P; ++p)
    for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + size_t(t) * y_stride + 16 * p, acc[p][t]);
}

template <bool kQ4>
struct BlockPanelTiles {  // Q4_0, Q8_0
  static constexpr int kDecodePanels = 4;
  template <int P, int T>
  FLOE_PANEL_VNNI_ATTR static void Run(const uint8_t* w, size_t panel_bytes,
                                       const QuantizedActivations* x, float* y, size_t ys) {
    PanelTileVnni<kQ4, P, T>(w, panel_bytes, x, y, ys);
  }
};

// Panels [p0, p1) for T tokens through Tiles::Run<P, T>: kP panels at a time (decode:
// Tiles::kDecodePanels streams per thread, as measured best for the type; prefill: as many
// independent accumulators as the registers hold), then one by one.
template <class Tiles, int T>
FLOE_PANEL_VNNI_ATTR HWY_INLINE void PanelTilesVnni(const uint8_t* w, size_t panel_bytes,
                                                    const QuantizedActivations* x, float* y,
                                                    size_t y_stride, size_t p0, size_t p1) {
  constexpr int kP = T == 1 ? Tiles::kDecodePanels : T > 4 ? 1 : 2;
  size_t p = p0;
  for (; p + kP <= p1; p += kP)
    Tiles::template Run<kP, T>(w + p * panel_bytes, panel_bytes, x, y + 16 * p, y_stride);
  for (; p < p1; ++p)
    Tiles::template Run<1, T>(w + p * panel_bytes, panel_bytes, x, y + 16 * p, y_stride);
}

// Rows [r0, r1) (multiples of 16) and tokens [0, n_tokens): 8-token tiles, a 4-token tile, then
// the 1-3 left.
template <class Tiles>
FLOE_PANEL_VNNI_ATTR HWY_NOINLINE void PanelRowsVnni(const uint8_t* w, size_t row_bytes,
                                                     const QuantizedActivations* x, size_t n_tokens,
                                                     float* y, size_t y_stride, size_t r0,
                                                     size_t r1) {
  const size_t panel_bytes = 16 * row_bytes, p0 = r0 / 16, p1 = r1 / 16;
  size_t tok = 0;
  for (; tok + 8 <= n_tokens; tok += 8)
    PanelTilesVnni<Tiles, 8>(w, panel_bytes, x + tok, y + tok * y_stride, y_stride, p0, p1);
  for (; tok + 4 <= n_tokens; tok += 4)
    PanelTilesVnni<Tiles, 4>(w, panel_bytes, x + tok, y + tok * y_stride, y_stride, p0, p1);
  const QuantizedActivations* xr = x + tok;
  float* yr = y + tok * y_stride;
  switch (n_tokens - tok) {
    case 3:
      return PanelTilesVnni<Tiles, 3>(w, panel_bytes, xr, yr, y_stride, p0, p1);
    case 2:
      return PanelTilesVnni<Tiles, 2>(w, panel_bytes, xr, yr, y_stride, p0, p1);
    case 1:
      return PanelTilesVnni<Tiles, 1>(w, panel_bytes, xr, yr, y_stride, p0, p1);
    default:
      return;
  }
}
#undef FLOE_PANEL_VNNI_ATTR

// ------------------------------ AMX (prefill)
// Tiles: C, 16 tokens x 16 rows of int32 block sums; A, 16 tokens x 32 activation codes;
// B, a block column of one panel as 8 words x 16 rows x 4 codes, which is the panel layout
// itself for Q8_0 (row_panels.h) and the nibbles minus 8 in the same order for Q4_0. One
// tdpbssd gives s_b for 16 tokens x 16 rows; the float steps are the VNNI tiles'
// (PanelFloatStep), so a (row, token) value is the same bits whichever path computes it.
#define FLOE_PANEL_AMX_ATTR __attribute__((target("avx512vnni,amx-tile,amx-int8")))

struct alignas(64) AmxTileConfig {
  uint8_t palette = 1, start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};
static_assert(sizeof(AmxTileConfig) == 64, "the palette-1 tile configuration is 64 bytes");

// Blocks of one panel per pass, and groups of 16 tokens per pass: the pass's unpacked Q4_0 codes
// (16 KiB) and its groups' float accumulators (16 KiB) live on the stack, nothing is allocated.
inline constexpr size_t kAmxPassBlocks = 32, kAmxPassGroups = 16;

// The B tile of block b of a pass: the panel's code words (Q8_0, group = the block column) or
// the pass's unpacked copy (Q4_0).
template <bool kQ4>
HWY_INLINE const void* PanelAmxB(const uint8_t* group, const int8_t* unpacked, size_t pass_b) {
  if constexpr (kQ4) return unpacked + pass_b * 512;
  return group + 32;
}

// acc[t] = fma(float(s), dw x da, acc[t]) for the 16 tokens of one block's sums (16 x 16).
FLOE_PANEL_AMX_ATTR HWY_INLINE void PanelAmxScale(const uint8_t* group, const int32_t* sums,
                                                  const QuantizedActivations* xt, size_t b,
                                                  __m512 (&acc)[16]) {
  const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(group)));
#pragma GCC unroll 16
  for (int t = 0; t < 16; ++t)
    acc[t] = PanelFloatStep(_mm512_load_si512(sums + 16 * t), dw, xt[t].d[b], acc[t]);
}

// Q4_0: the codes - 8 of blocks [b0, b1) of a panel, 512 bytes per block in B-tile order.
FLOE_PANEL_AMX_ATTR HWY_INLINE void UnpackQ4Panel(const uint8_t* panel, size_t b0, size_t b1,
                                                  int8_t* out) {
  const __m512i low4 = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(8);
  for (size_t b = b0; b < b1; ++b, out += 512) {
    const uint8_t* g = panel + b * 16 * 18 + 32;
    for (int k = 0; k < 4; ++k) {
      const __m512i raw = _mm512_loadu_si512(g + 64 * k);
      _mm512_storeu_si512(out + 64 * k, _mm512_sub_epi8(_mm512_and_si512(raw, low4), eight));
      _mm512_storeu_si512(
          out + 64 * (k + 4),
          _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(raw, 4), low4), eight));
    }
  }
}

// Panels [p0, p1) x `groups` groups of 16 tokens, token t's codes at x[0].q + t x a_stride.
// Caller: AmxInt8Usable().
template <bool kQ4>
FLOE_PANEL_AMX_ATTR HWY_NOINLINE void PanelRowsAmx(const uint8_t* w, size_t row_bytes,
                                                   const QuantizedActivations* x, size_t groups,
                                                   size_t a_stride, float* y, size_t y_stride,
                                                   size_t p0, size_t p1) {
  constexpr size_t kGroupBytes = 16 * (kQ4 ? 18 : 34);
  const size_t blocks = x[0].n / 32, panel_bytes = 16 * row_bytes;
  AmxTileConfig cfg;
  for (int i : {0, 1}) cfg.colsb[i] = 64, cfg.rows[i] = 16;  // C
  for (int i : {2, 3}) cfg.colsb[i] = 32, cfg.rows[i] = 16;  // A
  for (int i : {4, 5}) cfg.colsb[i] = 64, cfg.rows[i] = 8;   // B
  _tile_loadconfig(&cfg);
  alignas(64) int8_t unpacked[kQ4 ? kAmxPassBlocks * 512 : 64];
  alignas(64) float accs[kAmxPassGroups][16][16];
  alignas(64) int32_t sums[2 * 16 * 16];
  for (size_t p = p0; p < p1; ++p) {
    const uint8_t* panel = w + p * panel_bytes;
    for (size_t g0 = 0; g0 < groups; g0 += kAmxPassGroups) {
      const size_t gn = groups - g0 < kAmxPassGroups ? groups - g0 : kAmxPassGroups;
      std::memset(accs, 0, sizeof accs);
      for (size_t b0 = 0; b0 < blocks; b0 += kAmxPassBlocks) {
        const size_t b1 = blocks - b0 < kAmxPassBlocks ? blocks : b0 + kAmxPassBlocks;
        if constexpr (kQ4) UnpackQ4Panel(panel, b0, b1, unpacked);
        for (size_t grp = g0; grp < g0 + gn; ++grp) {
          const QuantizedActivations* xt = x + 16 * grp;
          const int8_t* a = x[0].q + 16 * grp * a_stride;
          __m512 acc[16];
          for (int t = 0; t < 16; ++t) acc[t] = _mm512_load_ps(accs[grp - g0][t]);
          // Two blocks per step in their own tiles (C 0 / 1, A 2 / 3, B 4 / 5), so that one
          // block's tile product overlaps the other's float steps; those stay in block order.
          size_t b = b0;
          for (; b + 2 <= b1; b += 2) {
            const uint8_t* g = panel + b * kGroupBytes;
            _tile_zero(0);
            _tile_zero(1);
            _tile_loadd(2, a + 32 * b, a_stride);
            _tile_loadd(3, a + 32 * (b + 1), a_stride);
            _tile_loadd(4, PanelAmxB<kQ4>(g, unpacked, b - b0), 64);
            _tile_loadd(5, PanelAmxB<kQ4>(g + kGroupBytes, unpacked, b + 1 - b0), 64);
            _tile_dpbssd(0, 2, 4);
            _tile_dpbssd(1, 3, 5);
            _tile_stored(0, sums, 64);
            _tile_stored(1, sums + 256, 64);
            PanelAmxScale(g, sums, xt, b, acc);
            PanelAmxScale(g + kGroupBytes, sums + 256, xt, b + 1, acc);
          }
          if (b < b1) {
            const uint8_t* g = panel + b * kGroupBytes;
            _tile_zero(0);
            _tile_loadd(2, a + 32 * b, a_stride);
            _tile_loadd(4, PanelAmxB<kQ4>(g, unpacked, b - b0), 64);
            _tile_dpbssd(0, 2, 4);
            _tile_stored(0, sums, 64);
            PanelAmxScale(g, sums, xt, b, acc);
          }
          for (int t = 0; t < 16; ++t) _mm512_store_ps(accs[grp - g0][t], acc[t]);
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

template <bool kQ4>
struct BlockPanelAmx {  // Q4_0, Q8_0
  static void Run(const uint8_t* w, size_t row_bytes, const QuantizedActivations* x, size_t groups,
                  size_t a_stride, float* y, size_t y_stride, size_t p0, size_t p1) {
    PanelRowsAmx<kQ4>(w, row_bytes, x, groups, a_stride, y, y_stride, p0, p1);
  }
};

// Whole groups of 16 tokens through Amx::Run where the process may use it and the tokens' codes
// lie evenly spaced (as MatMul quantizes them); the rest through the VNNI tiles (Tiles).
template <class Tiles, class Amx>
HWY_INLINE void PanelRowsAvx3Dl(const uint8_t* w, size_t row_bytes, const QuantizedActivations* x,
                                size_t n_tokens, float* y, size_t y_stride, size_t r0, size_t r1) {
  size_t done = 0;
  if (n_tokens >= 16 && AmxInt8Usable()) {
    const size_t groups = n_tokens / 16;
    const ptrdiff_t stride = x[1].q - x[0].q;
    bool even = stride >= 32;
    for (size_t t = 2; even && t < 16 * groups; ++t)
      even = x[t].q - x[0].q == ptrdiff_t(t) * stride;
    if (even) {
      Amx::Run(w, row_bytes, x, groups, size_t(stride), y, y_stride, r0 / 16, r1 / 16);
      done = 16 * groups;
    }
  }
  if (done < n_tokens)
    PanelRowsVnni<Tiles>(w, row_bytes, x + done, n_tokens - done, y + done * y_stride, y_stride, r0,
                         r1);
}
#endif  // HWY_TARGET == HWY_AVX3_DL

// The panel product for rows [r0, r1) (multiples of 16) on this target.
template <bool kQ4>
HWY_INLINE void PanelRowsT(const uint8_t* w, size_t row_bytes, const QuantizedActivations* x,
                           size_t n_tokens, float* y, size_t y_stride, size_t r0, size_t r1) {
#if HWY_TARGET == HWY_AVX3_DL
  PanelRowsAvx3Dl<BlockPanelTiles<kQ4>, BlockPanelAmx<kQ4>>(w, row_bytes, x, n_tokens, y, y_stride,
                                                            r0, r1);
#else
  PanelRowsGeneric<kQ4>(w, row_bytes, x, n_tokens, y, y_stride, r0, r1);
#endif
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#endif  // FLOE_QUANT_PANELS_INL_H_
