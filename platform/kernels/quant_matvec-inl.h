// Per-target matrix-vector products for block-quantized weights (platform/quant/quant.h) with
// 8-bit quantized activations. Re-included once per target by hwy/foreach_target.h via ops.cc.
// The pieces: quant_rowdot-inl.h (portable row dot products, activation quantization) and
// quant_tiles_vnni-inl.h (the AVX-512 VNNI tiles); here the choice between them.
//
// Arithmetic contract: for every block (Q4_0, Q8_0: 32 elements) or sub-block (Q4_K: 32,
// Q6_K: 16) the integer dot product of the weight codes with the activation codes is exact
// (int32); it is scaled in float by (weight scale x activation scale) and accumulated in float.
// The formats' offsets (Q4_0 -8, Q6_K -32) are folded in exactly with the activation block sums;
// Q4_K's per-sub-block minimum is subtracted in float (as in llama.cpp). K-quant activations are
// Q8_K (one scale per 256), so a K-quant kernel may also sum a whole block's scale x code
// products in int32 before scaling (the AVX3_DL Q4_K one does, as llama.cpp). Targets differ only
// in the order of the float accumulation. On AVX3_DL (AVX-512 VNNI) the integer products use
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
#include "platform/kernels/quant_panels-inl.h"
#include "platform/kernels/quant_panels_k-inl.h"
#include "platform/kernels/quant_rowdot-inl.h"
#include "platform/kernels/quant_tiles_vnni-inl.h"
#include "platform/quant/quant.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Whether this target multiplies quantized weights with 8-bit activations for many tokens
// (prefill) too, so that prefill computes what decode (and llama.cpp) computes; elsewhere MatMul
// widens them to float panels. On AVX3_DL every quantized type does (Q4_0, Q8_0, Q4_K, Q5_K and
// Q6_K in VNNI tiles, the others row by row); other targets keep float panels, whose integer
// loops are slow. Row-panel matrices (repacked at load only where AVX3_DL is the best target)
// take the integer path on every target.
HWY_INLINE bool IntegerQuantMatMulT(DType t) {
  if (IsRowPanels(t)) return true;
#if HWY_TARGET == HWY_AVX3_DL
  return IsQuantized(t);
#else
  (void)t;
  return false;
#endif
}

// Y[tok][r] (row stride y_stride) for r in [r0, r1) and tokens [0, n_tokens) of a quantized
// matrix (row stride row_bytes) with activations x[tok]. Each (row, token) value is the same
// whatever n_tokens, r0 and r1 are. Row-panel types: r0 and r1 are multiples of 16.
HWY_INLINE void QuantMatMulRowsT(DType t, const uint8_t* w, size_t row_bytes,
                                 const QuantizedActivations* x, size_t n_tokens, float* y,
                                 size_t y_stride, size_t r0, size_t r1) {
  if (t == DType::kQ4_0R16) return PanelRowsT<true>(w, row_bytes, x, n_tokens, y, y_stride, r0, r1);
  if (t == DType::kQ8_0R16)
    return PanelRowsT<false>(w, row_bytes, x, n_tokens, y, y_stride, r0, r1);
  if (t == DType::kQ4_KR16)
    return PanelRowsKT<false>(w, row_bytes, x, n_tokens, y, y_stride, r0, r1);
  if (t == DType::kQ6_KR16)
    return PanelRowsKT<true>(w, row_bytes, x, n_tokens, y, y_stride, r0, r1);
#if HWY_TARGET == HWY_AVX3_DL
  const auto tiled = [&](auto tiles) {
    TiledRows<decltype(tiles)>(w, row_bytes, x, n_tokens, y, y_stride, r0, r1);
  };
  switch (t) {
    case DType::kQ4_0:
      return tiled(BlockTiles<Q4_0Vnni>());
    case DType::kQ8_0:
      return tiled(BlockTiles<Q8_0Vnni>());
    case DType::kQ4_K:
      return tiled(Q4_KTiles<false>());
    case DType::kQ5_K:
      return tiled(Q4_KTiles<true>());
    case DType::kQ6_K:
      return tiled(Q6_KTiles());
    default:
      break;
  }
#endif
  for (size_t tok = 0; tok < n_tokens; ++tok) {
    for (size_t r = r0; r < r1; ++r) {
      const uint8_t* row = w + r * row_bytes;
      float v = 0.0f;
      switch (t) {
#if HWY_TARGET != HWY_AVX3_DL  // there: the tiles above
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
        case DType::kQ5_K:
          v = RowDotQ5_KGeneric(reinterpret_cast<const BlockQ5_K*>(row), x[tok]);
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
