// Per-target Highway loops for MatVec and MatMul (ops.h). Re-included once per target by
// hwy/foreach_target.h via ops.cc.
//
// Arithmetic contract (what makes MatVec and MatMul agree bit for bit, and makes results
// independent of tiling and thread count): every output y = sum_c W[r][c] * x[c] is ONE vector
// accumulator, zero-initialised, updated by MulAdd(W[r][c..c+N), x[c..c+N), acc) for c = 0, N,
// 2N, ... in order, the last partial vector zero-padded, then reduced with SumOfLanes. MatVec
// gets its parallelism from 8 rows at a time sharing each x load; MatMul from micro-tiles of
// 4 rows x up to 4 tokens. Accumulators are parked in a stack buffer between column chunks,
// which does not change the arithmetic.

#if defined(FLOE_MATMUL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FLOE_MATMUL_INL_H_
#undef FLOE_MATMUL_INL_H_
#else
#define FLOE_MATMUL_INL_H_
#endif

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "hwy/highway.h"
#include "platform/kernels/ops-inl.h"
#include "platform/kernels/tile_prefetch.h"
#include "platform/quant/quant.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// ------------------------------ MatVec and small-batch MatMul (batched decode)

// Y[t][r] (rows y_stride apart) for rows w[0..kR) and tokens x[0..kT) (x_stride apart), with
// the weights loaded and widened straight into registers, no panel: per column vector kR
// weight loads meet kT token loads. Per output, the arithmetic of the contract above (one
// accumulator, MulAdd in column order, zero-padded tail, ReduceSum), whatever kR and kT, so
// each Y[t][r] equals MatVec's (kT = 1) bit for bit. With `stream_ahead`, each row is a stream
// prefetched kStreamAhead bytes ahead of its loads, on into the thread's next tile
// (tile_prefetch.h).
template <size_t kR, size_t kT, class W, class DF>
HWY_INLINE void RowsDotTokens(DF df, const typename W::T* HWY_RESTRICT w, size_t cols,
                              const float* HWY_RESTRICT x, size_t x_stride, float* HWY_RESTRICT y,
                              size_t y_stride, bool stream_ahead) {
  const size_t N = hn::Lanes(df);
  hn::Vec<DF> acc[kT][kR];
  for (size_t t = 0; t < kT; ++t)
    for (size_t r = 0; r < kR; ++r) acc[t][r] = hn::Zero(df);
  const StreamAheadPrefetch prefetch(cols * sizeof(typename W::T), int(kR));
  size_t c = 0;
  for (; c + N <= cols; c += N) {
    hn::Vec<DF> wv[kR];
    for (size_t r = 0; r < kR; ++r) wv[r] = LoadWeights<W>(df, w + r * cols + c);
    const size_t offset = c * sizeof(typename W::T);
    if (stream_ahead && offset % 64 == 0)  // once per line of each row
      for (size_t r = 0; r < kR; ++r) prefetch.Ahead(w + r * cols + c, offset);
    for (size_t t = 0; t < kT; ++t) {
      const auto xv = hn::LoadU(df, x + t * x_stride + c);
      for (size_t r = 0; r < kR; ++r) acc[t][r] = hn::MulAdd(wv[r], xv, acc[t][r]);
    }
  }
  if (c < cols) {
    hn::Vec<DF> wv[kR];
    for (size_t r = 0; r < kR; ++r) wv[r] = LoadPadded<W>(df, w + r * cols + c, cols - c);
    for (size_t t = 0; t < kT; ++t) {
      const auto xv = LoadPadded<F32Weights>(df, x + t * x_stride + c, cols - c);
      for (size_t r = 0; r < kR; ++r) acc[t][r] = hn::MulAdd(wv[r], xv, acc[t][r]);
    }
  }
  for (size_t t = 0; t < kT; ++t)
    for (size_t r = 0; r < kR; ++r) y[t * y_stride + r] = ReduceSum(df, acc[t][r]);
}

// y[0..kR) = rows w[0..kR) (row stride `cols`) dotted with x, per the contract above: the
// one-token tile. 8-row tiles prefetch their rows' streams ahead (see tile_prefetch.h).
template <size_t kR, class W, class DF>
HWY_INLINE void RowsDot(DF df, const typename W::T* HWY_RESTRICT w, size_t cols,
                        const float* HWY_RESTRICT x, float* HWY_RESTRICT y) {
  RowsDotTokens<kR, 1, W>(df, w, cols, x, 0, y, 0, kR == 8);
}

// y[r] for r in [r0, r1).
template <class W, class DF>
HWY_INLINE void MatVecRowsT(DF df, const typename W::T* HWY_RESTRICT w, size_t cols,
                            const float* HWY_RESTRICT x, float* HWY_RESTRICT y, size_t r0,
                            size_t r1) {
  size_t r = r0;
  for (; r + 8 <= r1; r += 8) RowsDot<8, W>(df, w + r * cols, cols, x, y + r);
  if (r + 4 <= r1) {
    RowsDot<4, W>(df, w + r * cols, cols, x, y + r);
    r += 4;
  }
  for (; r < r1; ++r) RowsDot<1, W>(df, w + r * cols, cols, x, y + r);
}

// ------------------------------ MatMul

constexpr size_t kMicroRows = 4;
// Tokens per micro-tile: 4 x 4 accumulators + 4 weights + 1 x need 21 registers (AVX-512 and
// NEON/SVE have 32); 16-register x86 targets use 4 x 2.
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3
constexpr size_t kMicroTokens = 2;
#else
constexpr size_t kMicroTokens = 4;
#endif
// Small-batch rows: kR rows x every token, kMicroTokens tokens per RowsDotTokens tile.
template <size_t kR, class W, class DF>
HWY_INLINE void RowsDotAllTokens(DF df, const typename W::T* HWY_RESTRICT w, size_t cols,
                                 const float* HWY_RESTRICT x, size_t n_tokens,
                                 float* HWY_RESTRICT y, size_t y_stride) {
  size_t t = 0;
  for (; t + kMicroTokens <= n_tokens; t += kMicroTokens)
    RowsDotTokens<kR, kMicroTokens, W>(df, w, cols, x + t * cols, cols, y + t * y_stride, y_stride,
                                       t == 0);
  switch (n_tokens - t) {
    case 1:
      return RowsDotTokens<kR, 1, W>(df, w, cols, x + t * cols, cols, y + t * y_stride, y_stride,
                                     t == 0);
#if !(HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3)
    case 2:
      return RowsDotTokens<kR, 2, W>(df, w, cols, x + t * cols, cols, y + t * y_stride, y_stride,
                                     t == 0);
    case 3:
      return RowsDotTokens<kR, 3, W>(df, w, cols, x + t * cols, cols, y + t * y_stride, y_stride,
                                     t == 0);
#endif
    default:
      return;
  }
}

// Y[t][r] for r in [r0, r1) and every token t < n_tokens (Y rows y_stride apart, X rows cols
// apart): rows outer in blocks of 4, so a block's weights come from memory once and from L1 for
// the later token groups.
template <class W, class DF>
HWY_INLINE void MatMulSmallRowsT(DF df, const typename W::T* HWY_RESTRICT w, size_t cols,
                                 const float* HWY_RESTRICT x, size_t n_tokens,
                                 float* HWY_RESTRICT y, size_t y_stride, size_t r0, size_t r1) {
  size_t r = r0;
  for (; r + 4 <= r1; r += 4)
    RowsDotAllTokens<4, W>(df, w + r * cols, cols, x, n_tokens, y + r, y_stride);
  for (; r < r1; ++r) RowsDotAllTokens<1, W>(df, w + r * cols, cols, x, n_tokens, y + r, y_stride);
}

// Columns per chunk: a 4-row float panel of it (8 KiB) stays in L1 while it meets every token
// of the group. Multiple of every lane count.
constexpr size_t kChunkCols = 512;
// Tokens whose accumulators are parked at once (stack: 32 x 4 vectors = 8 KiB on AVX-512).
constexpr size_t kGroupTokens = 32;

// acc[t][r] (vector t * kMicroRows + r of `acc`) += rows wp[r] . x[t] over `len` columns
// (a multiple of Lanes(df)); wp rows are `w_stride` apart, x rows `x_stride` apart.
template <size_t kR, size_t kT, class DF>
HWY_INLINE void MicroTile(DF df, const float* HWY_RESTRICT wp, size_t w_stride,
                          const float* HWY_RESTRICT xp, size_t x_stride, size_t len,
                          float* HWY_RESTRICT acc) {
  const size_t N = hn::Lanes(df);
  hn::Vec<DF> a[kT][kR];
  for (size_t t = 0; t < kT; ++t) {
    for (size_t r = 0; r < kR; ++r) a[t][r] = hn::Load(df, acc + (t * kMicroRows + r) * N);
  }
  for (size_t i = 0; i < len; i += N) {
    hn::Vec<DF> wv[kR];
    for (size_t r = 0; r < kR; ++r) wv[r] = hn::LoadU(df, wp + r * w_stride + i);
    for (size_t t = 0; t < kT; ++t) {
      const auto xv = hn::LoadU(df, xp + t * x_stride + i);
      for (size_t r = 0; r < kR; ++r) a[t][r] = hn::MulAdd(wv[r], xv, a[t][r]);
    }
  }
  for (size_t t = 0; t < kT; ++t) {
    for (size_t r = 0; r < kR; ++r) hn::Store(a[t][r], df, acc + (t * kMicroRows + r) * N);
  }
}

template <size_t kR, class DF>
HWY_INLINE void MicroTileT(DF df, size_t nt, const float* HWY_RESTRICT wp, size_t w_stride,
                           const float* HWY_RESTRICT xp, size_t x_stride, size_t len,
                           float* HWY_RESTRICT acc) {
  switch (nt) {
    case 1:
      return MicroTile<kR, 1>(df, wp, w_stride, xp, x_stride, len, acc);
    case 2:
      return MicroTile<kR, 2>(df, wp, w_stride, xp, x_stride, len, acc);
#if !(HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_SSE4 || HWY_TARGET == HWY_SSSE3)
    case 3:
      return MicroTile<kR, 3>(df, wp, w_stride, xp, x_stride, len, acc);
    case 4:
      return MicroTile<kR, 4>(df, wp, w_stride, xp, x_stride, len, acc);
#endif
    default:
      return;
  }
}

template <class DF>
HWY_INLINE void MicroTileRT(DF df, size_t nr, size_t nt, const float* HWY_RESTRICT wp,
                            size_t w_stride, const float* HWY_RESTRICT xp, size_t x_stride,
                            size_t len, float* HWY_RESTRICT acc) {
  switch (nr) {
    case 1:
      return MicroTileT<1>(df, nt, wp, w_stride, xp, x_stride, len, acc);
    case 2:
      return MicroTileT<2>(df, nt, wp, w_stride, xp, x_stride, len, acc);
    case 3:
      return MicroTileT<3>(df, nt, wp, w_stride, xp, x_stride, len, acc);
    case 4:
      return MicroTileT<4>(df, nt, wp, w_stride, xp, x_stride, len, acc);
    default:
      return;
  }
}

// Prefetches, into L1, slice m of `slices` of the stored bytes of columns [k, k + len) of
// `nr` weight rows starting at `row` (source(row, k, len) gives the first byte and the count).
template <class Source>
HWY_INLINE void PrefetchPanelSlice(const Source& source, size_t row, size_t nr, size_t k,
                                   size_t len, size_t m, size_t slices) {
  for (size_t i = 0; i < nr; ++i) {
    const auto [p, bytes] = source(row + i, k, len);
    const size_t lines = (bytes + 63) / 64, b = m * lines / slices, e = (m + 1) * lines / slices;
    for (size_t l = b; l < e; ++l) __builtin_prefetch(p + 64 * l, 0, 3);
  }
}

// Y[t][r] for r in [r0, r1), t in [t0, t1) given a row source: fill(row, k, len, dst) writes
// columns [k, k + len) of weight row `row` as float to dst (len a multiple of Lanes(df));
// tail_weights(row) loads the zero-padded last partial vector (cols % Lanes(df) columns);
// source(row, k, len) gives the address and byte count of those columns as stored. While a
// panel meets the group's tokens, the next panel's stored rows are prefetched into L1, a slice
// per micro-tile: filling a panel had stalled on its loads (perf: ~20% of 1b f16 prefill in
// the fill loop), and the fill, unlike the micro-tiles, has no arithmetic to hide them behind.
template <class DF, class Fill, class Tail, class Source>
HWY_INLINE void MatMulPanelsT(DF df, size_t rows, size_t cols, const float* HWY_RESTRICT x,
                              float* HWY_RESTRICT y, size_t r0, size_t r1, size_t t0, size_t t1,
                              const Fill& fill, const Tail& tail_weights, const Source& source) {
  const size_t N = hn::Lanes(df);
  const size_t vec_cols = cols / N * N;
  const size_t tail = cols - vec_cols;
  HWY_ALIGN float panel[kMicroRows * kChunkCols];  // weights of one chunk, as float
  HWY_ALIGN float acc[kGroupTokens * kMicroRows * kMaxLanesF32];

  for (size_t g0 = t0; g0 < t1; g0 += kGroupTokens) {
    const size_t ng = t1 - g0 < kGroupTokens ? t1 - g0 : kGroupTokens;
    for (size_t r = r0; r < r1; r += kMicroRows) {
      const size_t nr = r1 - r < kMicroRows ? r1 - r : kMicroRows;
      const auto zero = hn::Zero(df);
      for (size_t i = 0; i < ng * kMicroRows; ++i) hn::Store(zero, df, acc + i * N);

      for (size_t k = 0; k < vec_cols; k += kChunkCols) {
        const size_t len = vec_cols - k < kChunkCols ? vec_cols - k : kChunkCols;
        // Widen (or, for F32, copy) the nr x len weight block into the panel: contiguous rows
        // avoid the cache-set conflicts of rows a power-of-two stride apart, and F16/BF16 are
        // widened once for all tokens of the group.
        for (size_t i = 0; i < nr; ++i) fill(r + i, k, len, panel + i * kChunkCols);
        // The next panel: these rows' next chunk, else the next rows' first chunk.
        const bool last_chunk = k + len >= vec_cols;
        const size_t next_r = last_chunk ? r + kMicroRows : r, next_k = last_chunk ? 0 : k + len;
        const size_t next_nr =
            next_r < r1 ? (r1 - next_r < kMicroRows ? r1 - next_r : kMicroRows) : 0;
        const size_t next_len = vec_cols - next_k < kChunkCols ? vec_cols - next_k : kChunkCols;
        const size_t slices = (ng + kMicroTokens - 1) / kMicroTokens;
        for (size_t t = 0; t < ng; t += kMicroTokens) {
          const size_t nt = ng - t < kMicroTokens ? ng - t : kMicroTokens;
          PrefetchPanelSlice(source, next_r, next_nr, next_k, next_len, t / kMicroTokens, slices);
          MicroTileRT(df, nr, nt, panel, kChunkCols, x + (g0 + t) * cols + k, cols, len,
                      acc + t * kMicroRows * N);
        }
      }

      if (tail != 0) {  // the zero-padded last vector, as in RowsDot
        hn::Vec<DF> wt[kMicroRows];
        for (size_t i = 0; i < nr; ++i) wt[i] = tail_weights(r + i);
        for (size_t t = 0; t < ng; ++t) {
          const auto xt = LoadPadded<F32Weights>(df, x + (g0 + t) * cols + vec_cols, tail);
          for (size_t i = 0; i < nr; ++i) {
            float* a = acc + (t * kMicroRows + i) * N;
            hn::Store(hn::MulAdd(wt[i], xt, hn::Load(df, a)), df, a);
          }
        }
      }

      for (size_t t = 0; t < ng; ++t) {
        for (size_t i = 0; i < nr; ++i) {
          y[(g0 + t) * rows + r + i] = ReduceSum(df, hn::Load(df, acc + (t * kMicroRows + i) * N));
        }
      }
    }
  }
}

// Plain weight types (F32/F16/BF16).
template <class W, class DF>
HWY_NOINLINE void MatMulTileT(DF df, const typename W::T* HWY_RESTRICT w, size_t rows, size_t cols,
                              const float* HWY_RESTRICT x, float* HWY_RESTRICT y, size_t r0,
                              size_t r1, size_t t0, size_t t1) {
  const size_t N = hn::Lanes(df);
  const size_t vec_cols = cols / N * N;
  auto fill = [&](size_t row, size_t k, size_t len, float* dst) HWY_ATTR {
    const typename W::T* src = w + row * cols + k;
    for (size_t c = 0; c < len; c += N) hn::Store(LoadWeights<W>(df, src + c), df, dst + c);
  };
  auto tail = [&](size_t row) HWY_ATTR {
    return LoadPadded<W>(df, w + row * cols + vec_cols, cols - vec_cols);
  };
  auto source = [&](size_t row, size_t k, size_t len) {
    return std::pair<const char*, size_t>(reinterpret_cast<const char*>(w + row * cols + k),
                                          len * sizeof(typename W::T));
  };
  MatMulPanelsT(df, rows, cols, x, y, r0, r1, t0, t1, fill, tail, source);
}

// Dequantizes `len` elements (a multiple of 32) of a Q8_0 / Q4_0 row segment to float, N lanes
// at a time (N divides 16 on every target): exactly DequantizeRow's values (code * d in float).
template <class DF>
HWY_INLINE void DequantizeQ8_0T(DF df, const BlockQ8_0* HWY_RESTRICT b, size_t len,
                                float* HWY_RESTRICT out) {
  const size_t N = hn::Lanes(df);
  const hn::Rebind<int8_t, DF> d8;
  const hn::RebindToSigned<DF> di;
  for (size_t i = 0; i < len / 32; ++i, out += 32) {
    const auto d = hn::Set(df, F16ToF32(b[i].d));
    for (size_t e = 0; e < 32; e += N)
      hn::StoreU(hn::Mul(hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, b[i].qs + e))), d), df,
                 out + e);
  }
}
template <class DF>
HWY_INLINE void DequantizeQ4_0T(DF df, const BlockQ4_0* HWY_RESTRICT b, size_t len,
                                float* HWY_RESTRICT out) {
  const size_t N = hn::Lanes(df);
  const hn::Rebind<uint8_t, DF> du8;
  const hn::RebindToSigned<DF> di;
  const auto eight = hn::Set(di, 8);
  for (size_t i = 0; i < len / 32; ++i, out += 32) {
    const auto d = hn::Set(df, F16ToF32(b[i].d));
    for (size_t e = 0; e < 16; e += N) {
      const auto bytes = hn::LoadU(du8, b[i].qs + e);
      const auto lo = hn::Sub(hn::BitCast(di, hn::PromoteTo(hn::RebindToUnsigned<DF>(),
                                                            hn::And(bytes, hn::Set(du8, 0x0F)))),
                              eight);
      const auto hi = hn::Sub(
          hn::BitCast(di, hn::PromoteTo(hn::RebindToUnsigned<DF>(), hn::ShiftRight<4>(bytes))),
          eight);
      hn::StoreU(hn::Mul(hn::ConvertTo(df, lo), d), df, out + e);
      hn::StoreU(hn::Mul(hn::ConvertTo(df, hi), d), df, out + 16 + e);
    }
  }
}

// Block-quantized weights: each panel row is dequantized once per token group (Q8_0 / Q4_0
// with vector code, K-quants through the scalar DequantizeRow). cols is a multiple of the block
// (>= 32), so there is no tail for lane counts <= 32.
template <class DF>
HWY_NOINLINE void MatMulTileQuantT(DF df, DType type, const uint8_t* HWY_RESTRICT w, size_t rows,
                                   size_t cols, const float* HWY_RESTRICT x, float* HWY_RESTRICT y,
                                   size_t r0, size_t r1, size_t t0, size_t t1) {
  const size_t row_bytes = DTypeBytes(type, cols);
  auto fill = [&](size_t row, size_t k, size_t len, float* dst) HWY_ATTR {
    const uint8_t* src = w + row * row_bytes + DTypeBytes(type, k);
    if (type == DType::kQ8_0)
      DequantizeQ8_0T(df, reinterpret_cast<const BlockQ8_0*>(src), len, dst);
    else if (type == DType::kQ4_0)
      DequantizeQ4_0T(df, reinterpret_cast<const BlockQ4_0*>(src), len, dst);
    else
      DequantizeRow(type, src, len, dst);
  };
  auto tail = [&](size_t) HWY_ATTR { return hn::Zero(df); };
  auto source = [&](size_t row, size_t k, size_t len) {
    return std::pair<const char*, size_t>(
        reinterpret_cast<const char*>(w + row * row_bytes + DTypeBytes(type, k)),
        DTypeBytes(type, len));
  };
  MatMulPanelsT(df, rows, cols, x, y, r0, r1, t0, t1, fill, tail, source);
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#endif  // FLOE_MATMUL_INL_H_
