// llama.cpp's block-quantized weight formats (ggml/src/ggml-common.h layouts, bit-exact) and the
// scalar code that defines them: dequantization (the reference every kernel is tested against),
// reference quantization for `floe quantize` (same rounding as quantize_row_*_ref), and the
// 8-bit activation blocks the integer dot-product kernels multiply with.
//
//   Q4_0  32 elements: f16 d, 16 bytes of nibbles; x[j] = d * ((qs[j] & 15) - 8),
//         x[j + 16] = d * ((qs[j] >> 4) - 8).
//   Q8_0  32 elements: f16 d, 32 int8; x[j] = d * qs[j].
//   Q4_K  256 elements: f16 d, f16 dmin, 12 bytes of 6-bit (scale, min) pairs for 8 sub-blocks
//         of 32, 128 bytes of nibbles; x = d * sc * q - dmin * m.
//   Q6_K  256 elements: 128 bytes low nibbles, 64 bytes of 2-bit highs, 16 int8 scales (one per
//         16 elements), f16 d; x = d * sc * (q - 32), q in 0..63.
//   Q5_0  32 elements: f16 d, 4 bytes of fifth bits, 16 bytes of nibbles;
//         x[j] = d * ((qs[j] & 15 | bit j of qh << 4) - 16),
//         x[j + 16] = d * ((qs[j] >> 4 | bit j + 16 of qh << 4) - 16).
//   Q2_K  256 elements: 16 bytes of (4-bit scale, 4-bit min) per 16 elements, 64 bytes of 2-bit
//         codes, f16 d, f16 dmin; x = d * sc * q - dmin * m.
//   Q3_K  256 elements: 32 bytes of high bits, 64 bytes of 2-bit codes, 12 bytes of 6-bit scales
//         (one per 16 elements, stored + 32), f16 d; x = d * (sc - 32) * (q - 4 * !high bit).
//   Q4_1  32 elements: f16 d, f16 m, 16 bytes of nibbles; x[j] = d * (qs[j] & 15) + m,
//         x[j + 16] = d * (qs[j] >> 4) + m.
//   Q5_1  32 elements: f16 d, f16 m, 4 bytes of fifth bits, 16 bytes of nibbles; x = d * q + m
//         with q the 5-bit code as in Q5_0 (0..31).
//   Q5_K  256 elements: f16 d, f16 dmin, 12 bytes of 6-bit (scale, min) pairs as Q4_K, 32 bytes
//         of fifth bits, 128 bytes of nibbles; element l (0..31) of sub-block j (0..7) is nibble
//         j % 2 of qs[32 (j / 2) + l] with bit j of qh[l] as its fifth bit; x = d * sc * q - dmin * m.
//
// Activations (llama.cpp's vec_dot_type of each weight type, x86 arithmetic): Q4_0, Q5_0 and
// Q8_0 weights multiply Q8_0 activations (blocks of 32: d = fp16(max|x| / 127),
// q = round-half-even(x * 127 / max|x|)); Q4_1 and Q5_1 multiply Q8_1 activations (the Q8_0
// codes and d, plus s = fp16(d' * sum of the block's q) with d' = max|x| / 127 before its fp16
// rounding, which carries the weights' min m); the K-quants multiply Q8_K activations (blocks of
// 256: m = the element of largest |x|, the first on ties; q = min(127, round-half-even(x * -127 /
// m)), d = 1 / (-127 / m) in f32).
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/base/dtype.h"

namespace floe {

struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ2_K {
  uint8_t scales[16];
  uint8_t qs[64];
  uint16_t d;
  uint16_t dmin;
};
struct BlockQ3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];
  uint16_t d;
};
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[16];
};
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_K) == 144 &&
                  sizeof(BlockQ6_K) == 210 && sizeof(BlockQ5_0) == 22 &&
                  sizeof(BlockQ2_K) == 84 && sizeof(BlockQ3_K) == 110 &&
                  sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_1) == 24 && sizeof(BlockQ5_K) == 176,
              "ggml block layouts");

// The 5-bit code (0..31) of element j (0..31) of a Q5_0 / Q5_1 block: nibble of qs[j % 16]
// (low for j < 16), fifth bit = bit j of the little-endian 32-bit qh.
inline int Q5Code(const uint8_t* qh4, const uint8_t* qs, int j) {
  const uint32_t qh = uint32_t(qh4[0]) | uint32_t(qh4[1]) << 8 | uint32_t(qh4[2]) << 16 |
                      uint32_t(qh4[3]) << 24;
  const int lo = j < 16 ? (qs[j] & 0xF) : (qs[j - 16] >> 4);
  return lo | int((qh >> j) & 1) << 4;
}
// Q5_0's 5-bit code of element j (0..31) of a block, 0..31 (the -16 offset not applied).
inline int Q5_0Code(const BlockQ5_0& b, int j) { return Q5Code(b.qh, b.qs, j); }
inline int Q5_1Code(const BlockQ5_1& b, int j) { return Q5Code(b.qh, b.qs, j); }
// Q5_K's 5-bit code (0..31) of element e (0..255) of a block.
inline int Q5KCode(const BlockQ5_K& b, int e) {
  const int j = e / 32, l = e % 32;
  const int lo = (b.qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0xF;
  return lo | ((b.qh[l] >> j) & 1) << 4;
}

// Q3_K's 16 scales (sub-blocks of 16 elements, in element order), with the +32 removed:
// -32..31, as ggml unpacks its 12 bytes of 6-bit values.
inline void Q3KScales(const uint8_t* s, int8_t* out) {
  for (int i = 0; i < 16; ++i) {
    int v;
    if (i < 4)
      v = (s[i] & 0xF) | ((s[i + 8] >> 0) & 3) << 4;
    else if (i < 8)
      v = (s[i] & 0xF) | ((s[i + 4] >> 2) & 3) << 4;
    else if (i < 12)
      v = (s[i - 8] >> 4) | ((s[i] >> 4) & 3) << 4;
    else
      v = (s[i - 8] >> 4) | ((s[i - 4] >> 6) & 3) << 4;
    out[i] = int8_t(v - 32);
  }
}

// The signed code (-4..3) of element e (0..255) of a Q3_K block, and Q2_K's (0..3).
inline int Q3KCode(const BlockQ3_K& b, int e) {
  const int half = e / 128, r = e % 128, j = r / 32, l = r % 32;
  const int q = (b.qs[32 * half + l] >> (2 * j)) & 3;
  const bool high = (b.hmask[l] >> (4 * half + j)) & 1;
  return q - (high ? 0 : 4);
}
inline int Q2KCode(const BlockQ2_K& b, int e) {
  const int half = e / 128, r = e % 128, j = r / 32, l = r % 32;
  return (b.qs[32 * half + l] >> (2 * j)) & 3;
}

// Q4_K's packed 6-bit scale and min of sub-block j (0..7), as ggml's get_scale_min_k4.
inline void Q4KScaleMin(const uint8_t* q, int j, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = uint8_t((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// The element of largest |x| among n (the first on ties; 0 if all are 0): the `max` llama.cpp's
// symmetric quantizers (Q4_0, Q5_0, Q6_K's sub-blocks) scale by.
inline float SignedAbsMax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    const float a = x[j] < 0 ? -x[j] : x[j];
    if (amax < a) {
      amax = a;
      max = x[j];
    }
  }
  return max;
}

// Dequantizes `n` elements (a multiple of the block) of quantized type t starting at `blocks`.
void DequantizeRow(DType t, const void* blocks, size_t n, float* out);

// llama.cpp-compatible reference quantization of `n` floats (multiple of 32) into blocks.
void QuantizeRowQ8_0(const float* x, size_t n, BlockQ8_0* out);
void QuantizeRowQ4_0(const float* x, size_t n, BlockQ4_0* out);
// quantize_row_q4_1_ref / quantize_row_q5_1_ref: d = (max - min) / 15 (31), m = min, codes
// (x - min) / d + 0.5 truncated (Q4_1 clamped to 15; Q5_1 as llama.cpp, unclamped to 5 bits).
void QuantizeRowQ4_1(const float* x, size_t n, BlockQ4_1* out);
void QuantizeRowQ5_1(const float* x, size_t n, BlockQ5_1* out);
// quantize_row_q5_0_ref: d = max / -16 (max: the element of largest |x|), codes x / d + 16.5
// truncated, clamped to 31.
void QuantizeRowQ5_0(const float* x, size_t n, BlockQ5_0* out);
// quantize_row_q{4,5,6}_K_ref (n a multiple of 256): the K-quants as llama-quantize writes them
// without an importance matrix (platform/quant/quantize_k.cc describes the searches).
void QuantizeRowQ4_K(const float* x, size_t n, BlockQ4_K* out);
void QuantizeRowQ5_K(const float* x, size_t n, BlockQ5_K* out);
void QuantizeRowQ6_K(const float* x, size_t n, BlockQ6_K* out);
// A Q6_K block's 256 6-bit codes (0..63, element order) out of its ql / qh, and back in.
void Q6KBlockCodes(const BlockQ6_K& b, uint8_t* codes);
void PackQ6KCodes(const uint8_t* codes, BlockQ6_K* b);

// How a weight type's activations are quantized (llama.cpp's vec_dot_type; see the top).
enum class ActivationQuant { kQ8_0, kQ8_1, kQ8_K };
inline ActivationQuant ActivationQuantOf(DType t) {
  t = PanelBlockType(t);
  if (DTypeBlockElems(t) == 256) return ActivationQuant::kQ8_K;
  return t == DType::kQ4_1 || t == DType::kQ5_1 ? ActivationQuant::kQ8_1 : ActivationQuant::kQ8_0;
}

// Activations for the integer dot-product kernels: each block of 32 floats as int8 q with one
// float scale d (Q8_0: per block of 32; Q8_K: the scale of the block of 256 repeated for its 8
// blocks of 32) and the block sums of q (whole block and per 16-element half), which fold the
// formats' offsets (-8, -32, mins) out of the inner loop.
struct QuantizedActivations {
  const int8_t* q = nullptr;       // n
  const float* d = nullptr;        // n / 32
  const int32_t* sum16 = nullptr;  // n / 16: sums of q over each 16 elements
  const int32_t* sum4 = nullptr;   // n / 4: sums of q over each 4 elements (one int32 lane of
                                   // a VNNI dot product)
  // Layouts for the 512-bit VNNI kernels, per group of whole blocks (a trailing partial group
  // is left out; kernels take it from q / d / sum16):
  //   Q4_0, 4 blocks (128 elements) per group: q4 holds the group's codes reordered to match
  //   the weights' nibbles as loaded (64 bytes: elements 0..15 of block 0, 1, 2, 3; then 64
  //   bytes: elements 16..31 of each); int32 lane l of a dot product covers block l / 4, so
  //   d4[16 g + l] = d[4 g + l / 4] and c4[16 g + l] = -8 x (the sum of the 8 codes lane l
  //   multiplies), which folds Q4_0's -8 offset into the accumulator's initial value.
  //   Q8_0, 2 blocks (64 elements) per group, codes in natural order (q): d8[16 g + l] =
  //   d[2 g + l / 8] and c8[16 g + l] = -128 x sum4[16 g + l], undoing the +128 that makes the
  //   weight codes unsigned for vpdpbusd.
  const int8_t* q4 = nullptr;   // n / 128 * 128
  const float* d4 = nullptr;    // n / 128 * 16
  const int32_t* c4 = nullptr;  // n / 128 * 16
  const float* d8 = nullptr;    // n / 64 * 16
  const int32_t* c8 = nullptr;  // n / 64 * 16
  // Q8_1's s per block of 32 (meaningful for kQ8_1 codes): fp16(d' * (sum of the block's q)),
  // d' = max|x| / 127 in f32 (d before its fp16 rounding), as a float.
  const float* s = nullptr;  // n / 32
  // Per K-quant block of 256 (n / 256 x 4): its 8 sub-block (32-element) sums as int16 pairs
  // (low half, high half): (0, 2), (1, 3), (4, 6), (5, 7), the order the Q4_K panel kernels
  // unpack the mins in (each sum is at most 32 x 127 in magnitude, exact in int16).
  const int32_t* k_pairs = nullptr;  // n / 64
  size_t n = 0;
};
// Floats of storage QuantizeActivations needs for n elements (q, d and sums packed together).
size_t QuantizedActivationsFloats(size_t n);
// n must be a multiple of 32 (of 256 for kQ8_K); `storage` holds QuantizedActivationsFloats(n)
// floats (aligned). The scalar reference; MatVec uses the SIMD QuantizeActivationsSimd
// (platform/kernels/ops.h), which gives identical results.
QuantizedActivations QuantizeActivations(const float* x, size_t n, float* storage,
                                         ActivationQuant kind = ActivationQuant::kQ8_0);

// The two steps of QuantizeActivations, for SIMD versions of the first:
// 1. the codes and scales of each block of 32 (Q8_0 as at the top: q = clamp(nearbyint(x * id),
//    -127, 127) with id = 127 / max|x|, d = fp16(max|x| / 127); max|x| = 0 gives q = 0, d = 0),
//    written to ActivationCodes(n, storage) (n bytes) and ActivationScales(n, storage) (n / 32
//    floats), and, when d_f32 is given, max|x| / 127 unrounded (for Q8_1's s) to d_f32 (n / 32:
//    ActivationUnroundedScales(n, storage)); QuantizeActivationBlocksQ8K the same for Q8_K (n a
//    multiple of 256; d_f32 = d);
void QuantizeActivationBlocks(const float* x, size_t n, int8_t* q, float* d,
                              float* d_f32 = nullptr);
void QuantizeActivationBlocksQ8K(const float* x, size_t n, int8_t* q, float* d,
                                 float* d_f32 = nullptr);
int8_t* ActivationCodes(size_t n, float* storage);
float* ActivationScales(size_t n, float* storage);
float* ActivationUnroundedScales(size_t n, float* storage);
// 2. the sums, Q8_1's s and the kernels' reordered copies, derived from those codes and scales
//    (s from the unrounded scales, so step 1 must have written them).
QuantizedActivations FinishQuantizedActivations(size_t n, float* storage);

// Reference dot product of one quantized row (n elements) with quantized activations, in the
// kernels' arithmetic: per block (or sub-block) an exact integer dot product, scaled in float.
float QuantizedRowDotReference(DType t, const void* row, const QuantizedActivations& x);

}  // namespace floe
