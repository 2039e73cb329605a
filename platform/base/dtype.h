// Element types of tensors. Numeric values match ggml_type so GGUF tensor types map directly.
// F32/F16/BF16 are plain element types; the Q types are llama.cpp's block-quantized
// formats (platform/quant/quant.h): a row of `cols` elements is cols / block elements blocks of
// block_bytes each, and cols must be a multiple of the block.
// The R16 types are Q4_0 / Q8_0 / Q4_K / Q6_K matrices repacked at load into panels of 16 rows
// (platform/quant/row_panels.h): the same blocks and bytes per row, in another order; they never
// come from or go to a file (their numbers are no ggml type), and rows is a multiple of 16.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace floe {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kBF16 = 30,
  kQ4_0R16 = 0x1002,  // Q4_0 in 16-row panels
  kQ8_0R16 = 0x1008,  // Q8_0 in 16-row panels
  kQ4_KR16 = 0x100C,  // Q4_K in 16-row panels
  kQ6_KR16 = 0x100E,  // Q6_K in 16-row panels
};

// Rows per panel of the R16 types.
inline constexpr size_t kPanelRows = 16;
inline bool IsRowPanels(DType t) {
  return t == DType::kQ4_0R16 || t == DType::kQ8_0R16 || t == DType::kQ4_KR16 ||
         t == DType::kQ6_KR16;
}
// The block format of a panel type's blocks (the type itself for every other type): the panel
// types' numbers are 0x1000 + the block type's.
inline DType PanelBlockType(DType t) { return IsRowPanels(t) ? DType(uint32_t(t) - 0x1000u) : t; }

inline const char* DTypeName(DType t) {
  switch (t) {
    case DType::kF32:
      return "f32";
    case DType::kF16:
      return "f16";
    case DType::kBF16:
      return "bf16";
    case DType::kQ4_0:
      return "q4_0";
    case DType::kQ4_1:
      return "q4_1";
    case DType::kQ5_0:
      return "q5_0";
    case DType::kQ5_1:
      return "q5_1";
    case DType::kQ8_0:
      return "q8_0";
    case DType::kQ2_K:
      return "q2_K";
    case DType::kQ3_K:
      return "q3_K";
    case DType::kQ4_K:
      return "q4_K";
    case DType::kQ5_K:
      return "q5_K";
    case DType::kQ6_K:
      return "q6_K";
    case DType::kQ4_0R16:
      return "q4_0r16";
    case DType::kQ8_0R16:
      return "q8_0r16";
    case DType::kQ4_KR16:
      return "q4_Kr16";
    case DType::kQ6_KR16:
      return "q6_Kr16";
  }
  return "?";
}

// Elements per block (1 for plain types) and bytes per block.
inline size_t DTypeBlockElems(DType t) {
  switch (t) {
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ8_0:
    case DType::kQ4_0R16:
    case DType::kQ8_0R16:
      return 32;
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kQ4_KR16:
    case DType::kQ6_KR16:
      return 256;
    default:
      return 1;
  }
}
inline bool IsQuantized(DType t) { return DTypeBlockElems(t) > 1; }
inline size_t DTypeBlockBytes(DType t) {
  switch (t) {
    case DType::kF32:
      return 4;
    case DType::kF16:
    case DType::kBF16:
      return 2;
    case DType::kQ4_0:
    case DType::kQ4_0R16:
      return 18;
    case DType::kQ4_1:
      return 20;
    case DType::kQ5_0:
      return 22;
    case DType::kQ5_1:
      return 24;
    case DType::kQ8_0:
    case DType::kQ8_0R16:
      return 34;
    case DType::kQ2_K:
      return 84;
    case DType::kQ3_K:
      return 110;
    case DType::kQ4_K:
    case DType::kQ4_KR16:
      return 144;
    case DType::kQ5_K:
      return 176;
    case DType::kQ6_K:
    case DType::kQ6_KR16:
      return 210;
  }
  return 0;
}
// Bytes of one element of a plain type (F32/F16/BF16); 0 for block-quantized types.
inline size_t DTypeSize(DType t) { return IsQuantized(t) ? 0 : DTypeBlockBytes(t); }
// Bytes of `n` elements (n a multiple of the block for quantized types).
inline size_t DTypeBytes(DType t, size_t n) { return n / DTypeBlockElems(t) * DTypeBlockBytes(t); }

// IEEE binary16 <-> binary32, round-to-nearest-even, NaN/Inf/subnormals preserved.
inline float F16ToF32(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3FFu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t F32ToF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t abs = x & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) return sign | 0x7C00u | (abs > 0x7F800000u ? 0x200u : 0u);  // Inf/NaN
  if (abs >= 0x477FF000u) return sign | 0x7C00u;  // rounds to >= 65520: overflow to Inf
  if (abs < 0x38800000u) {                        // below smallest normal half: subnormal/zero
    if (abs < 0x33000000u) return sign;           // < 2^-25 rounds to zero
    const uint32_t e = abs >> 23;
    const uint32_t m = (abs & 0x7FFFFFu) | 0x800000u;
    const uint32_t shift = 126 - e;  // 14 + (113 - e)
    uint32_t h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return sign | static_cast<uint16_t>(h);
  }
  uint32_t h = ((abs - 0x38000000u) >> 13);
  const uint32_t rem = abs & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return sign | static_cast<uint16_t>(h);
}

inline float BF16ToF32(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t F32ToBF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u)
    return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  x += 0x7FFFu + ((x >> 16) & 1u);                    // round to nearest even
  return static_cast<uint16_t>(x >> 16);
}

}  // namespace floe
