// Per-target products of BF16 weight matrices with bf16 activations on AVX512-BF16 CPUs
// (bf16_dot.h says when floe uses them). Re-included once per target via ops.cc; the kernels
// exist on the AVX-512 targets only (Bf16DotTarget()).
//
// Arithmetic, for each (row, token), whatever the token count or tile shape:
//   - the activations are rounded to bf16 once per MatMul (vcvtne2ps2bf16: round to nearest
//     even, denormals flushed), zero-padded to a multiple of 32;
//   - one accumulator of 16 float lanes, from zero, takes, for each 32 columns k .. k + 31 in
//     order, one vdpbf16ps: lane j = fma(w[k + 2j], x[k + 2j], fma(w[k + 2j + 1], x[k + 2j + 1],
//     lane j)), the odd product first (the products of two bf16 are exact in float, so each step
//     rounds once; subnormal inputs read as zero, subnormal results flush to zero; how this
//     order was checked: docs/quantization.md, "BF16 matrices"); columns past the row's end
//     read as zero;
//   - y = the 16 lanes summed by _mm512_reduce_add_ps.
// So decode (1 token), batched decode and prefill give the same bits.
#if defined(FLOE_BF16_DOT_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FLOE_BF16_DOT_INL_H_
#undef FLOE_BF16_DOT_INL_H_
#else
#define FLOE_BF16_DOT_INL_H_
#endif

#include <cstddef>
#include <cstdint>

#include "hwy/highway.h"
#include "platform/kernels/bf16_dot.h"
#include "platform/kernels/tile_prefetch.h"

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#include <immintrin.h>
#endif

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {

#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
#define FLOE_BF16_ATTR __attribute__((target("avx512f,avx512bw,avx512bf16")))

inline constexpr bool Bf16DotTarget() { return true; }

// Tokens [t0, t1) of x (rows of `cols` floats) as bf16 rows of Bf16ActivationStride(cols)
// elements at `out` (token t at out + t x stride), zero-padded.
FLOE_BF16_ATTR inline void Bf16ActivationsT(const float* HWY_RESTRICT x, size_t cols, size_t t0,
                                            size_t t1, uint16_t* HWY_RESTRICT out) {
  const size_t stride = Bf16ActivationStride(cols);
  for (size_t t = t0; t < t1; ++t) {
    const float* src = x + t * cols;
    uint16_t* dst = out + t * stride;
    for (size_t k = 0; k < stride; k += 32) {
      const size_t n = cols - k < 32 ? cols - k : 32;
      const __mmask16 lo = n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1);
      const __mmask16 hi =
          n >= 32 ? __mmask16(0xFFFF) : __mmask16(n > 16 ? (1u << (n - 16)) - 1 : 0);
      const __m512 a = _mm512_maskz_loadu_ps(lo, src + k);
      const __m512 b = _mm512_maskz_loadu_ps(hi, src + k + 16);
      // The first operand fills the upper 16 elements.
      _mm512_storeu_si512(dst + k, (__m512i)_mm512_cvtne2ps_pbh(b, a));
    }
  }
}

// y[t x y_stride + i] for R rows from `w` (row i at w + i x cols) and T tokens from `xb` (token t
// at xb + t x xs): the arithmetic stated at the top. With `stream_ahead`, each row is a stream
// prefetched ahead of its loads (tile_prefetch.h).
template <size_t R, size_t T>
FLOE_BF16_ATTR HWY_INLINE void Bf16MicroTile(const uint16_t* HWY_RESTRICT w, size_t cols,
                                             const uint16_t* HWY_RESTRICT xb, size_t xs,
                                             float* HWY_RESTRICT y, size_t y_stride,
                                             bool stream_ahead) {
  const StreamAheadPrefetch prefetch(cols * sizeof(uint16_t), int(R));
  __m512 acc[R][T];
  for (size_t i = 0; i < R; ++i)
    for (size_t t = 0; t < T; ++t) acc[i][t] = _mm512_setzero_ps();
  const size_t full = cols / 32 * 32;
  for (size_t k = 0; k < cols; k += 32) {
    __m512i wv[R];
    if (k < full) {
      for (size_t i = 0; i < R; ++i) wv[i] = _mm512_loadu_si512(w + i * cols + k);
      if (stream_ahead)  // one line of each row per step
        for (size_t i = 0; i < R; ++i) prefetch.Ahead(w + i * cols + k, 2 * k);
    } else {  // the row's last columns; the rest reads as zero
      const __mmask32 m = __mmask32((uint64_t{1} << (cols - full)) - 1);
      for (size_t i = 0; i < R; ++i) wv[i] = _mm512_maskz_loadu_epi16(m, w + i * cols + k);
    }
    for (size_t t = 0; t < T; ++t) {
      const __m512bh xv = (__m512bh)_mm512_loadu_si512(xb + t * xs + k);
      for (size_t i = 0; i < R; ++i) acc[i][t] = _mm512_dpbf16_ps(acc[i][t], (__m512bh)wv[i], xv);
    }
  }
  for (size_t t = 0; t < T; ++t)
    for (size_t i = 0; i < R; ++i) y[t * y_stride + i] = _mm512_reduce_add_ps(acc[i][t]);
}

// Register tiles: 4 rows x up to 6 tokens (24 accumulators, 4 weight vectors, 1 activation).
inline constexpr size_t kBf16TileRows = 4, kBf16TileTokens = 6;

template <size_t R>
FLOE_BF16_ATTR HWY_INLINE void Bf16MicroTileT(size_t nt, const uint16_t* w, size_t cols,
                                              const uint16_t* xb, size_t xs, float* y,
                                              size_t y_stride, bool stream_ahead) {
  switch (nt) {
    case 1:
      return Bf16MicroTile<R, 1>(w, cols, xb, xs, y, y_stride, stream_ahead);
    case 2:
      return Bf16MicroTile<R, 2>(w, cols, xb, xs, y, y_stride, stream_ahead);
    case 3:
      return Bf16MicroTile<R, 3>(w, cols, xb, xs, y, y_stride, stream_ahead);
    case 4:
      return Bf16MicroTile<R, 4>(w, cols, xb, xs, y, y_stride, stream_ahead);
    case 5:
      return Bf16MicroTile<R, 5>(w, cols, xb, xs, y, y_stride, stream_ahead);
    default:
      return Bf16MicroTile<R, 6>(w, cols, xb, xs, y, y_stride, stream_ahead);
  }
}

// Y[t][r] (Y rows `rows` apart) for rows [r0, r1) and tokens [t0, t1) of a BF16 matrix
// (rows x cols) and bf16 activations from Bf16ActivationsT: token groups inner, so the tile's
// weight rows are read once from memory and then from cache.
FLOE_BF16_ATTR HWY_NOINLINE void Bf16MatMulT(const uint16_t* HWY_RESTRICT w, size_t rows,
                                             size_t cols, const uint16_t* HWY_RESTRICT xb,
                                             float* HWY_RESTRICT y, size_t r0, size_t r1, size_t t0,
                                             size_t t1) {
  const size_t xs = Bf16ActivationStride(cols);
  for (size_t r = r0; r < r1;) {
    const size_t nr = r1 - r >= kBf16TileRows ? kBf16TileRows : 1;
    for (size_t t = t0; t < t1; t += kBf16TileTokens) {
      const size_t nt = t1 - t < kBf16TileTokens ? t1 - t : kBf16TileTokens;
      const uint16_t* wr = w + r * cols;
      const uint16_t* xt = xb + t * xs;
      float* yt = y + t * rows + r;
      if (nr == kBf16TileRows)  // the first token group streams the rows in
        Bf16MicroTileT<kBf16TileRows>(nt, wr, cols, xt, xs, yt, rows, t == t0);
      else
        Bf16MicroTileT<1>(nt, wr, cols, xt, xs, yt, rows, false);
    }
    r += nr;
  }
}

#undef FLOE_BF16_ATTR
#else  // not an AVX-512 target: never called (Bf16DotTarget() is false)

inline constexpr bool Bf16DotTarget() { return false; }
inline void Bf16ActivationsT(const float*, size_t, size_t, size_t, uint16_t*) {}
inline void Bf16MatMulT(const uint16_t*, size_t, size_t, const uint16_t*, float*, size_t, size_t,
                        size_t, size_t) {}

#endif  // HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#endif  // FLOE_BF16_DOT_INL_H_
