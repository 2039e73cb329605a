// Highway dynamic dispatch for the kernels of ops.h. This file is compiled once per target
// (hwy/foreach_target.h re-includes it); the per-target section wraps the templates of
// ops-inl.h / matmul-inl.h in plain functions, and the HWY_ONCE section exports them and
// defines the public entry points. Each entry point looks its target up once per call and
// then runs only that target's code, also inside parallel chunks.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "platform/kernels/ops.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "platform/kernels/attention-inl.h"
#include "platform/kernels/bf16_dot-inl.h"
#include "platform/kernels/matmul-inl.h"
#include "platform/kernels/ops-inl.h"
#include "platform/kernels/quant_matvec-inl.h"
#include "platform/base/tensor.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {

void MatVecRowsImpl(const TensorView& w, const float* x, float* y, size_t r0, size_t r1) {
  const hn::ScalableTag<float> df;
  switch (w.dtype) {
    case DType::kF32:
      return MatVecRowsT<F32Weights>(df, static_cast<const float*>(w.data), w.cols, x, y, r0, r1);
    case DType::kF16:
      return MatVecRowsT<F16Weights>(df, static_cast<const uint16_t*>(w.data), w.cols, x, y, r0,
                                     r1);
    case DType::kBF16:
      return MatVecRowsT<BF16Weights>(df, static_cast<const uint16_t*>(w.data), w.cols, x, y, r0,
                                      r1);
    default:
      return;  // quantized types go through QuantMatMulRowsImpl
  }
}

// Y[t][r] for r in [r0, r1), t < n_tokens (Y rows w.rows apart) of F32/F16/BF16 weights:
// MatVec's loop for one token, the small-batch rows for a few.
void FloatMatMulRowsImpl(const TensorView& w, const float* x, size_t n_tokens, float* y,
                         size_t r0, size_t r1) {
  if (n_tokens == 1) return MatVecRowsImpl(w, x, y, r0, r1);
  const hn::ScalableTag<float> df;
  switch (w.dtype) {
    case DType::kF32:
      return MatMulSmallRowsT<F32Weights>(df, static_cast<const float*>(w.data), w.cols, x,
                                          n_tokens, y, w.rows, r0, r1);
    case DType::kF16:
      return MatMulSmallRowsT<F16Weights>(df, static_cast<const uint16_t*>(w.data), w.cols, x,
                                          n_tokens, y, w.rows, r0, r1);
    case DType::kBF16:
      return MatMulSmallRowsT<BF16Weights>(df, static_cast<const uint16_t*>(w.data), w.cols, x,
                                           n_tokens, y, w.rows, r0, r1);
    default:
      return;
  }
}

void QuantizeActivationBlocksImpl(const float* x, size_t n, int8_t* q, float* d, float* d_f32) {
  QuantizeActivationBlocksT(hn::ScalableTag<float>(), x, n, q, d, d_f32);
}

void QuantizeActivationBlocksQ8KImpl(const float* x, size_t n, int8_t* q, float* d, float* d_f32) {
  QuantizeActivationBlocksQ8KT(hn::ScalableTag<float>(), x, n, q, d, d_f32);
}

void QuantMatMulRowsImpl(const TensorView& w, const QuantizedActivations* x, size_t n_tokens,
                         float* y, size_t r0, size_t r1) {
  QuantMatMulRowsT(w.dtype, static_cast<const uint8_t*>(w.data), w.row_bytes(), x, n_tokens, y,
                   w.rows, r0, r1);
}

bool IntegerQuantMatMulImpl(DType t) { return IntegerQuantMatMulT(t); }

bool RowPanelKernelsImpl() { return HWY_TARGET == HWY_AVX3_DL; }

bool Bf16DotKernelsImpl() { return Bf16DotTarget() && Bf16DotUsable(); }
void Bf16ActivationsImpl(const float* x, size_t cols, size_t t0, size_t t1, uint16_t* out) {
  Bf16ActivationsT(x, cols, t0, t1, out);
}
void Bf16MatMulImpl(const TensorView& w, const uint16_t* xb, float* y, size_t r0, size_t r1,
                    size_t t0, size_t t1) {
  Bf16MatMulT(static_cast<const uint16_t*>(w.data), w.rows, w.cols, xb, y, r0, r1, t0, t1);
}

void MatMulTileImpl(const TensorView& w, const float* x, float* y, size_t r0, size_t r1, size_t t0,
                    size_t t1) {
  const hn::ScalableTag<float> df;
  switch (w.dtype) {
    case DType::kF32:
      return MatMulTileT<F32Weights>(df, static_cast<const float*>(w.data), w.rows, w.cols, x, y,
                                     r0, r1, t0, t1);
    case DType::kF16:
      return MatMulTileT<F16Weights>(df, static_cast<const uint16_t*>(w.data), w.rows, w.cols, x, y,
                                     r0, r1, t0, t1);
    case DType::kBF16:
      return MatMulTileT<BF16Weights>(df, static_cast<const uint16_t*>(w.data), w.rows, w.cols, x,
                                      y, r0, r1, t0, t1);
    default:
      return MatMulTileQuantT(df, w.dtype, static_cast<const uint8_t*>(w.data), w.rows, w.cols, x,
                              y, r0, r1, t0, t1);
  }
}

void RmsNormImpl(const float* x, const float* weight, size_t n, float eps, float* out) {
  RmsNormT(hn::ScalableTag<float>(), x, weight, n, eps, out);
}
void SoftmaxImpl(float* x, size_t n) { SoftmaxT(hn::ScalableTag<float>(), x, n); }
void RopeInterleavedImpl(float* x, size_t n_heads, size_t head_dim, size_t rot_dim, size_t pos,
                         float freq_base) {
  RopeInterleavedT(hn::ScalableTag<float>(), x, n_heads, head_dim, rot_dim, pos, freq_base);
}
void RopeHalfSplitImpl(float* x, size_t n_heads, size_t head_dim, size_t rot_dim, size_t pos,
                       float freq_base) {
  RopeHalfSplitT(hn::ScalableTag<float>(), x, n_heads, head_dim, rot_dim, pos, freq_base);
}
void RopeInterleavedCosSinImpl(float* x, size_t n_heads, size_t head_dim, size_t rot_dim,
                               const float* cos, const float* sin) {
  RopeInterleavedCosSinT(hn::ScalableTag<float>(), x, n_heads, head_dim, rot_dim, cos, sin);
}
void RopeHalfSplitCosSinImpl(float* x, size_t n_heads, size_t head_dim, size_t rot_dim,
                             const float* cos, const float* sin) {
  RopeHalfSplitCosSinT(hn::ScalableTag<float>(), x, n_heads, head_dim, rot_dim, cos, sin);
}
void SiluImpl(float* x, size_t n) { SiluT(hn::ScalableTag<float>(), x, n); }
void SwiGluImpl(float* gate, const float* up, size_t n) {
  SwiGluT(hn::ScalableTag<float>(), gate, up, n);
}
size_t ArgmaxImpl(const float* x, size_t n) { return ArgmaxT(hn::ScalableTag<float>(), x, n); }
float DotImpl(const float* a, const float* b, size_t n) {
  return DotT<F32Weights>(hn::ScalableTag<float>(), a, b, n);
}
float DotF16Impl(const float* a, const uint16_t* b, size_t n) {
  return DotT<F16Weights>(hn::ScalableTag<float>(), a, b, n);
}
void AxpyImpl(float alpha, const float* x, float* y, size_t n) {
  AxpyT<F32Weights>(hn::ScalableTag<float>(), alpha, x, y, n);
}
void AxpyF16Impl(float alpha, const uint16_t* x, float* y, size_t n) {
  AxpyT<F16Weights>(hn::ScalableTag<float>(), alpha, x, y, n);
}
void ScaleImpl(float* x, float s, size_t n) { ScaleT(hn::ScalableTag<float>(), x, s, n); }
void AddImpl(const float* a, float* y, size_t n) { AddT(hn::ScalableTag<float>(), a, y, n); }
float DecayedDotImpl(const float* a, const float* b, const float* ld, size_t n) {
  return DecayedDotT(hn::ScalableTag<float>(), a, b, ld, n);
}
void ExpScaleImpl(const float* x, const float* ld, float* out, size_t n) {
  ExpScaleT(hn::ScalableTag<float>(), x, ld, out, n);
}
// Heads narrower than the vector (e.g. 8 dims with 16 lanes) take an 8-lane descriptor: full
// loads instead of masked ones for every key.
template <class Fn>
HWY_INLINE void WithAttentionTag(size_t hd, const Fn& fn) {
  const hn::ScalableTag<float> df;
  if (hd <= 8 && hn::Lanes(df) > 8)
    fn(hn::CappedTag<float, 8>());
  else
    fn(df);
}

void AttentionScoresImpl(const float* q, size_t n_q, size_t hd, const void* keys, size_t stride,
                         DType dt, size_t n, float scale, float* scores) {
  WithAttentionTag(hd, [&](auto df) HWY_ATTR {
    if (dt == DType::kF16)
      AttentionScoresT<F16Weights>(df, q, n_q, hd, static_cast<const uint16_t*>(keys), stride, n,
                                   scale, scores);
    else
      AttentionScoresT<F32Weights>(df, q, n_q, hd, static_cast<const float*>(keys), stride, n,
                                   scale, scores);
  });
}
void AttentionScoresGatherImpl(const float* q, size_t hd, const void* keys, size_t stride, DType dt,
                               const uint32_t* rows, size_t n, float scale, float* scores) {
  WithAttentionTag(hd, [&](auto df) HWY_ATTR {
    if (dt == DType::kF16)
      AttentionScoresGatherT<F16Weights>(df, q, hd, static_cast<const uint16_t*>(keys), stride,
                                         rows, n, scale, scores);
    else
      AttentionScoresGatherT<F32Weights>(df, q, hd, static_cast<const float*>(keys), stride, rows,
                                         n, scale, scores);
  });
}
void AttentionScoresGather16Impl(const float* qt, size_t hd, const void* keys, size_t stride,
                                 DType dt, const uint32_t* rows, size_t n, float scale,
                                 float* out) {
  if (dt == DType::kF16)
    AttentionScoresGather16T<F16Weights>(qt, hd, static_cast<const uint16_t*>(keys), stride, rows,
                                         n, scale, out);
  else
    AttentionScoresGather16T<F32Weights>(qt, hd, static_cast<const float*>(keys), stride, rows, n,
                                         scale, out);
}
float SoftmaxTileImpl(float* s, size_t n, size_t visible, float* running_max) {
  return SoftmaxTileT(hn::ScalableTag<float>(), s, n, visible, running_max);
}
void AttentionAccumulateImpl(const float* p, size_t n_q, size_t hd, const void* values,
                             size_t stride, DType dt, size_t n, float* out) {
  WithAttentionTag(hd, [&](auto df) HWY_ATTR {
    if (dt == DType::kF16)
      AttentionAccumulateT<F16Weights>(df, p, n_q, hd, static_cast<const uint16_t*>(values), stride,
                                       n, out);
    else
      AttentionAccumulateT<F32Weights>(df, p, n_q, hd, static_cast<const float*>(values), stride, n,
                                       out);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <algorithm>
#include <cassert>
#include <vector>

#include "platform/kernels/bf16_dot.h"
#include "platform/kernels/ops.h"

namespace floe {

HWY_EXPORT(MatVecRowsImpl);
HWY_EXPORT(FloatMatMulRowsImpl);
HWY_EXPORT(QuantMatMulRowsImpl);
HWY_EXPORT(IntegerQuantMatMulImpl);
HWY_EXPORT(RowPanelKernelsImpl);
HWY_EXPORT(Bf16DotKernelsImpl);
HWY_EXPORT(Bf16ActivationsImpl);
HWY_EXPORT(Bf16MatMulImpl);
HWY_EXPORT(QuantizeActivationBlocksImpl);
HWY_EXPORT(QuantizeActivationBlocksQ8KImpl);
HWY_EXPORT(MatMulTileImpl);
HWY_EXPORT(RmsNormImpl);
HWY_EXPORT(SoftmaxImpl);
HWY_EXPORT(RopeInterleavedImpl);
HWY_EXPORT(RopeHalfSplitImpl);
HWY_EXPORT(RopeInterleavedCosSinImpl);
HWY_EXPORT(RopeHalfSplitCosSinImpl);
HWY_EXPORT(SiluImpl);
HWY_EXPORT(SwiGluImpl);
HWY_EXPORT(ArgmaxImpl);
HWY_EXPORT(DotImpl);
HWY_EXPORT(DotF16Impl);
HWY_EXPORT(AxpyImpl);
HWY_EXPORT(AxpyF16Impl);
HWY_EXPORT(ScaleImpl);
HWY_EXPORT(AddImpl);
HWY_EXPORT(DecayedDotImpl);
HWY_EXPORT(ExpScaleImpl);
HWY_EXPORT(AttentionScoresImpl);
HWY_EXPORT(AttentionScoresGatherImpl);
HWY_EXPORT(AttentionScoresGather16Impl);
HWY_EXPORT(AttentionAccumulateImpl);
HWY_EXPORT(SoftmaxTileImpl);

namespace {

// MatVec hands out rows in blocks of 8 (the per-target kernel's row group), so a block is never
// split between threads.
constexpr size_t kMatVecBlockRows = 8;
// Rows per decode task of a `t` matrix: row-panel matrices in whole tiles of 4 panels.
size_t DecodeRowBlock(DType t) { return IsRowPanels(t) ? 4 * kPanelRows : kMatVecBlockRows; }
// MatMul tasks: this many rows x this many tokens (token-tile inner, so consecutive tasks of one
// chunk reuse the same weight rows from cache).
constexpr size_t kMatMulTileRows = 64;
static_assert(kMatMulTileRows % kPanelRows == 0, "prefill tiles cut panel matrices at panels");
constexpr size_t kMatMulTileTokens = 32;
// Row-panel products take more tokens per task: the AMX path unpacks a Q4_0 panel once per task
// for all its groups of 16 tokens.
constexpr size_t kPanelTileTokens = 256;
// Quantized weights with at most this many tokens take the integer path with rows outer (decode,
// batched decode) on every target; more tokens take it in row x token tiles where the target
// has fast 8-bit products (IntegerQuantMatMulT), else float panels.
constexpr size_t kQuantSmallBatch = 16;
// Float weights with at most this many tokens take the small-batch rows (FloatMatMulMany);
// more take the panel tiles, whose widened weights are reused by enough tokens to pay for the
// panel (the crossover in bench_matvec --tokens; docs/results/batched-decode.md).
constexpr size_t kFloatSmallBatch = 16;
// MatMulMany fuses at most this many products into one pass.
constexpr size_t kMaxProducts = 8;
// A parallel chunk should carry at least this many multiply-adds to be worth a task.
constexpr size_t kMinMacsPerChunk = size_t{1} << 16;

size_t CeilDiv(size_t a, size_t b) { return (a + b - 1) / b; }

// Grain (items per chunk) for `n` items of `macs` multiply-adds each: about 4 chunks per thread
// (even split with work stealing), but no chunk smaller than kMinMacsPerChunk.
size_t Grain(size_t n, size_t macs, const ThreadContext* tc) {
  const size_t threads = tc != nullptr && tc->num_threads() > 1 ? tc->num_threads() : 1;
  const size_t for_balance = CeilDiv(n, threads * 4);
  const size_t for_overhead = CeilDiv(kMinMacsPerChunk, std::max<size_t>(macs, 1));
  return std::max<size_t>({for_balance, for_overhead, 1});
}

template <class Fn>
void RunChunks(ThreadContext* tc, size_t n, size_t grain, Fn&& fn) {
  if (tc == nullptr) {
    fn(size_t{0}, n);
  } else {
    tc->ParallelFor(n, grain, fn);
  }
}

}  // namespace

QuantizedActivations QuantizeActivationsSimd(const float* x, size_t n, float* storage,
                                             ActivationQuant kind) {
  if (kind == ActivationQuant::kQ8_K) HWY_DYNAMIC_DISPATCH(QuantizeActivationBlocksQ8KImpl)
  (x, n, ActivationCodes(n, storage), ActivationScales(n, storage),
   ActivationUnroundedScales(n, storage));
  else  // Q8_0 and Q8_1: the same codes and d
    HWY_DYNAMIC_DISPATCH(QuantizeActivationBlocksImpl)
    (x, n, ActivationCodes(n, storage), ActivationScales(n, storage),
     ActivationUnroundedScales(n, storage));
  return FinishQuantizedActivations(n, storage);
}

namespace {

// Rows of several products in one parallel pass: item i of `counts` (prefix) belongs to product
// Owner(i); fn(product, local item begin, local item end) runs each product's share of a chunk.
template <class Fn>
void RunProducts(ThreadContext* tc, std::span<const size_t> items, size_t macs_per_item, Fn&& fn) {
  size_t total = 0;
  for (size_t n : items) total += n;
  RunChunks(tc, total, Grain(total, macs_per_item, tc), [&](size_t i0, size_t i1) {
    size_t base = 0;
    for (size_t p = 0; p < items.size() && base < i1; base += items[p], ++p) {
      const size_t b = std::max(i0, base), e = std::min(i1, base + items[p]);
      if (b < e) fn(p, b - base, e - base);
    }
  });
}

// Quantized weights times n_tokens activation rows, each quantized to 8-bit blocks once (into
// the context's scratch: no allocation once warm) for all products, then the row blocks of all
// products in one parallel pass.
void QuantMatMulMany(std::span<const TensorView* const> ws, const float* x, size_t n_tokens,
                     std::span<float* const> ys, ThreadContext* tc) {
  const size_t cols = ws[0]->cols;
  const ActivationQuant kind = ActivationQuantOf(ws[0]->dtype);  // the same for all (MatMulMany)
  const size_t per = QuantizedActivationsFloats(cols);
  std::vector<float> fallback;
  float* storage = tc ? tc->Scratch(ScratchSlot::kQuantizedActivations, per * n_tokens) : nullptr;
  if (storage == nullptr) {
    fallback.resize(per * n_tokens);
    storage = fallback.data();
  }
  std::vector<QuantizedActivations> xq_heap;
  QuantizedActivations xq_small[kQuantSmallBatch];
  QuantizedActivations* xq = xq_small;
  if (n_tokens > kQuantSmallBatch) {
    xq_heap.resize(n_tokens);
    xq = xq_heap.data();
  }
  RunChunks(tc, n_tokens, Grain(n_tokens, cols * 8, tc), [&](size_t t0, size_t t1) {
    for (size_t t = t0; t < t1; ++t)
      xq[t] = QuantizeActivationsSimd(x + t * cols, cols, storage + t * per, kind);
  });
  const auto kernel = &HWY_DYNAMIC_DISPATCH(QuantMatMulRowsImpl);
  size_t items[kMaxProducts];
  if (n_tokens <= kQuantSmallBatch) {
    // Decode and batched decode: rows outer, so each block of weight rows is read from memory
    // once for all tokens.
    size_t unit[kMaxProducts];
    for (size_t p = 0; p < ws.size(); ++p) {
      unit[p] = DecodeRowBlock(ws[p]->dtype);
      items[p] = CeilDiv(ws[p]->rows, unit[p]);
    }
    RunProducts(tc, {items, ws.size()}, kMatVecBlockRows * cols * n_tokens,
                [&](size_t p, size_t b0, size_t b1) {
                  kernel(*ws[p], xq, n_tokens, ys[p], b0 * unit[p],
                         std::min(b1 * unit[p], ws[p]->rows));
                });
    return;
  }
  // Prefill: tiles of rows x tokens (token tile inner, so consecutive tasks reuse the rows).
  bool panels = true;
  for (const TensorView* w : ws) panels &= IsRowPanels(w->dtype);
  const size_t tile_tokens = panels ? kPanelTileTokens : kMatMulTileTokens;
  const size_t token_tiles = CeilDiv(n_tokens, tile_tokens);
  for (size_t p = 0; p < ws.size(); ++p)
    items[p] = CeilDiv(ws[p]->rows, kMatMulTileRows) * token_tiles;
  RunProducts(tc, {items, ws.size()}, kMatMulTileRows * tile_tokens * cols,
              [&](size_t p, size_t i0, size_t i1) {
                const TensorView& w = *ws[p];
                for (size_t i = i0; i < i1; ++i) {
                  const size_t r0 = (i / token_tiles) * kMatMulTileRows;
                  const size_t t0 = (i % token_tiles) * tile_tokens;
                  const size_t nt = std::min(tile_tokens, n_tokens - t0);
                  kernel(w, xq + t0, nt, ys[p] + t0 * w.rows, r0,
                         std::min(r0 + kMatMulTileRows, w.rows));
                }
              });
}

// Float weights, one token or a small batch (at most kFloatSmallBatch): row blocks of all
// products in one parallel pass, rows outer, so each block of weight rows is read from memory
// once for all tokens; weights are widened in registers, not into panels (whose fill costs as
// much as the arithmetic of a few tokens).
void FloatMatMulMany(std::span<const TensorView* const> ws, const float* x, size_t n_tokens,
                     std::span<float* const> ys, ThreadContext* tc) {
  const auto kernel = &HWY_DYNAMIC_DISPATCH(FloatMatMulRowsImpl);  // dispatch once
  size_t items[kMaxProducts];
  for (size_t p = 0; p < ws.size(); ++p) items[p] = CeilDiv(ws[p]->rows, kMatVecBlockRows);
  RunProducts(tc, {items, ws.size()}, kMatVecBlockRows * ws[0]->cols * n_tokens,
              [&](size_t p, size_t b0, size_t b1) {
                kernel(*ws[p], x, n_tokens, ys[p], b0 * kMatVecBlockRows,
                       std::min(b1 * kMatVecBlockRows, ws[p]->rows));
              });
}

// fn(r0, r1, t0, t1) over the tiles of w.rows x n_tokens, tile_rows x tile_tokens each (token
// tile inner, so consecutive tasks reuse the same weight rows from cache), in parallel.
template <class Fn>
void RunTiles(ThreadContext* tc, const TensorView& w, size_t n_tokens, size_t tile_rows,
              size_t tile_tokens, Fn&& fn) {
  const size_t row_tiles = CeilDiv(w.rows, tile_rows);
  const size_t token_tiles = CeilDiv(n_tokens, tile_tokens);
  const size_t tile_macs = std::min(w.rows, tile_rows) * std::min(n_tokens, tile_tokens) * w.cols;
  RunChunks(tc, row_tiles * token_tiles, Grain(row_tiles * token_tiles, tile_macs, tc),
            [&](size_t i0, size_t i1) {
              for (size_t i = i0; i < i1; ++i) {
                const size_t r0 = (i / token_tiles) * tile_rows;
                const size_t t0 = (i % token_tiles) * tile_tokens;
                fn(r0, std::min(r0 + tile_rows, w.rows), t0, std::min(t0 + tile_tokens, n_tokens));
              }
            });
}

// Whether products of a `t` matrix take the bf16 activations of bf16_dot-inl.h.
bool TakesBf16Dot(DType t) {
  return t == DType::kBF16 && HWY_DYNAMIC_DISPATCH(Bf16DotKernelsImpl)();
}

// A BF16 matrix with AVX512-BF16: the activations rounded to bf16 once (into the context's
// scratch), then rows x tokens tiles; rows outer for up to kFloatSmallBatch tokens (each row read
// from memory once for all of them), else kMatMulTileRows x kMatMulTileTokens tiles. Every
// (row, token) takes the same arithmetic either way (bf16_dot-inl.h).
void Bf16MatMul(const TensorView& w, const float* x, size_t n_tokens, float* y, ThreadContext* tc) {
  const size_t floats = (n_tokens * Bf16ActivationStride(w.cols) + 1) / 2;
  std::vector<float> fallback;
  float* storage = tc ? tc->Scratch(ScratchSlot::kQuantizedActivations, floats) : nullptr;
  if (storage == nullptr) {
    fallback.resize(floats);
    storage = fallback.data();
  }
  uint16_t* xb = reinterpret_cast<uint16_t*>(storage);
  const auto convert = &HWY_DYNAMIC_DISPATCH(Bf16ActivationsImpl);
  RunChunks(tc, n_tokens, Grain(n_tokens, w.cols * 4, tc),
            [&](size_t t0, size_t t1) { convert(x, w.cols, t0, t1, xb); });
  const auto kernel = &HWY_DYNAMIC_DISPATCH(Bf16MatMulImpl);
  const bool small = n_tokens <= kFloatSmallBatch;
  RunTiles(tc, w, n_tokens, small ? kMatVecBlockRows : kMatMulTileRows,
           small ? n_tokens : kMatMulTileTokens,
           [&](size_t r0, size_t r1, size_t t0, size_t t1) { kernel(w, xb, y, r0, r1, t0, t1); });
}

}  // namespace

void MatVec(const TensorView& w, const float* x, float* y, ThreadContext* tc) {
  MatMul(w, x, 1, y, tc);
}

bool RowPanelKernelsPreferred() { return HWY_DYNAMIC_DISPATCH(RowPanelKernelsImpl)(); }

bool MatMulQuantizesActivations(DType t, size_t n_tokens) {
  return IsQuantized(t) &&
         (n_tokens <= kQuantSmallBatch || HWY_DYNAMIC_DISPATCH(IntegerQuantMatMulImpl)(t));
}

bool MatMulRoundsActivationsToBf16(DType t) { return TakesBf16Dot(t); }

void MatMulMany(std::span<const TensorView* const> ws, const float* x, size_t n_tokens,
                std::span<float* const> ys, ThreadContext* tc) {
  if (ws.empty() || n_tokens == 0) return;
  bool quant = true, small = n_tokens <= kFloatSmallBatch;
  for (const TensorView* w : ws) {
    quant &= MatMulQuantizesActivations(w->dtype, n_tokens) && w->cols == ws[0]->cols &&
             ActivationQuantOf(w->dtype) == ActivationQuantOf(ws[0]->dtype);
    small &= !IsQuantized(w->dtype) && !TakesBf16Dot(w->dtype);
  }
  if (ws.size() <= kMaxProducts && ws.size() == ys.size()) {
    if (quant) return QuantMatMulMany(ws, x, n_tokens, ys, tc);
    if (small)  // same arithmetic as MatMul's panels, better loop for a few tokens
      return FloatMatMulMany(ws, x, n_tokens, ys, tc);
  }
  for (size_t p = 0; p < ws.size() && p < ys.size(); ++p) MatMul(*ws[p], x, n_tokens, ys[p], tc);
}

void MatMul(const TensorView& w, const float* x, size_t n_tokens, float* y, ThreadContext* tc) {
  if (w.rows == 0 || n_tokens == 0) return;
  const TensorView* ws[1] = {&w};
  float* ys[1] = {y};
  if (TakesBf16Dot(w.dtype)) return Bf16MatMul(w, x, n_tokens, y, tc);
  if (n_tokens <= kFloatSmallBatch && !IsQuantized(w.dtype))
    return FloatMatMulMany(ws, x, n_tokens, ys, tc);
  if (MatMulQuantizesActivations(w.dtype, n_tokens))
    return QuantMatMulMany(ws, x, n_tokens, ys, tc);
  const auto kernel = &HWY_DYNAMIC_DISPATCH(MatMulTileImpl);  // dispatch once
  RunTiles(tc, w, n_tokens, kMatMulTileRows, kMatMulTileTokens,
           [&](size_t r0, size_t r1, size_t t0, size_t t1) { kernel(w, x, y, r0, r1, t0, t1); });
}

void RmsNorm(const float* x, const float* weight, size_t n, float eps, float* out) {
  if (n == 0) return;
  HWY_DYNAMIC_DISPATCH(RmsNormImpl)(x, weight, n, eps, out);
}

void Softmax(float* x, size_t n) {
  if (n == 0) return;
  HWY_DYNAMIC_DISPATCH(SoftmaxImpl)(x, n);
}

void RopeInterleaved(float* x, size_t n_heads, size_t head_dim, size_t rot_dim, size_t pos,
                     float freq_base) {
  assert(rot_dim % 2 == 0 && rot_dim <= head_dim);
  HWY_DYNAMIC_DISPATCH(RopeInterleavedImpl)(x, n_heads, head_dim, rot_dim, pos, freq_base);
}

void RopeHalfSplit(float* x, size_t n_heads, size_t head_dim, size_t rot_dim, size_t pos,
                   float freq_base) {
  assert(rot_dim % 2 == 0 && rot_dim <= head_dim);
  HWY_DYNAMIC_DISPATCH(RopeHalfSplitImpl)(x, n_heads, head_dim, rot_dim, pos, freq_base);
}

void RopeInterleavedCosSin(float* x, size_t n_heads, size_t head_dim, size_t rot_dim,
                           const float* cos, const float* sin) {
  assert(rot_dim % 2 == 0 && rot_dim <= head_dim);
  HWY_DYNAMIC_DISPATCH(RopeInterleavedCosSinImpl)(x, n_heads, head_dim, rot_dim, cos, sin);
}

void RopeHalfSplitCosSin(float* x, size_t n_heads, size_t head_dim, size_t rot_dim,
                         const float* cos, const float* sin) {
  assert(rot_dim % 2 == 0 && rot_dim <= head_dim);
  HWY_DYNAMIC_DISPATCH(RopeHalfSplitCosSinImpl)(x, n_heads, head_dim, rot_dim, cos, sin);
}

void Silu(float* x, size_t n) { HWY_DYNAMIC_DISPATCH(SiluImpl)(x, n); }

void SwiGlu(float* gate, const float* up, size_t n) {
  HWY_DYNAMIC_DISPATCH(SwiGluImpl)(gate, up, n);
}

size_t Argmax(const float* x, size_t n) {
  if (n == 0) return 0;
  return HWY_DYNAMIC_DISPATCH(ArgmaxImpl)(x, n);
}

float Dot(const float* a, const float* b, size_t n) {
  return HWY_DYNAMIC_DISPATCH(DotImpl)(a, b, n);
}

float DotF16(const float* a, const uint16_t* b_f16, size_t n) {
  return HWY_DYNAMIC_DISPATCH(DotF16Impl)(a, b_f16, n);
}

void Axpy(float alpha, const float* x, float* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(AxpyImpl)(alpha, x, y, n);
}

void AxpyF16(float alpha, const uint16_t* x_f16, float* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(AxpyF16Impl)(alpha, x_f16, y, n);
}

void Scale(float* x, float s, size_t n) { HWY_DYNAMIC_DISPATCH(ScaleImpl)(x, s, n); }

void Add(const float* a, float* y, size_t n) { HWY_DYNAMIC_DISPATCH(AddImpl)(a, y, n); }

float DecayedDot(const float* a, const float* b, const float* log_decay, size_t n) {
  return HWY_DYNAMIC_DISPATCH(DecayedDotImpl)(a, b, log_decay, n);
}

void ExpScale(const float* x, const float* log_decay, float* out, size_t n) {
  HWY_DYNAMIC_DISPATCH(ExpScaleImpl)(x, log_decay, out, n);
}

void AttentionScoresGather(const float* q, size_t head_dim, const void* keys, size_t stride,
                           DType dtype, const uint32_t* rows, size_t n, float scale,
                           float* scores) {
  HWY_DYNAMIC_DISPATCH(AttentionScoresGatherImpl)
  (q, head_dim, keys, stride, dtype, rows, n, scale, scores);
}

void AttentionScoresGather16(const float* qt, size_t head_dim, const void* keys, size_t stride,
                             DType dtype, const uint32_t* rows, size_t n, float scale, float* out) {
  HWY_DYNAMIC_DISPATCH(AttentionScoresGather16Impl)
  (qt, head_dim, keys, stride, dtype, rows, n, scale, out);
}

void AttentionScores(const float* q, size_t n_q, size_t head_dim, const void* keys, size_t stride,
                     DType dtype, size_t n, float scale, float* scores) {
  HWY_DYNAMIC_DISPATCH(AttentionScoresImpl)
  (q, n_q, head_dim, keys, stride, dtype, n, scale, scores);
}

float SoftmaxTile(float* s, size_t n, size_t visible, float* running_max) {
  return HWY_DYNAMIC_DISPATCH(SoftmaxTileImpl)(s, n, visible, running_max);
}

void AttentionAccumulate(const float* p, size_t n_q, size_t head_dim, const void* values,
                         size_t stride, DType dtype, size_t n, float* out) {
  HWY_DYNAMIC_DISPATCH(AttentionAccumulateImpl)(p, n_q, head_dim, values, stride, dtype, n, out);
}

}  // namespace floe
#endif  // HWY_ONCE
