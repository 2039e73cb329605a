#include "platform/quant/quant.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

namespace floe {
namespace {
// Rounds to the nearest int8 in [-127, 127], clamping in float first: converting a NaN or an
// out-of-range float to int is undefined behaviour (NaN activations come from weights a file
// made NaN; they quantize to 0).
inline int8_t ToInt8Clamped(float v) {
  if (!(v == v)) return 0;
  return int8_t(std::nearbyint(std::clamp(v, -127.0f, 127.0f)));
}
}  // namespace

void DequantizeRow(DType t, const void* blocks, size_t n, float* out) {
  switch (t) {
    case DType::kQ4_0: {
      const auto* b = static_cast<const BlockQ4_0*>(blocks);
      for (size_t i = 0; i < n / 32; ++i, out += 32) {
        const float d = F16ToF32(b[i].d);
        for (int j = 0; j < 16; ++j) {
          out[j] = float((b[i].qs[j] & 0x0F) - 8) * d;
          out[j + 16] = float((b[i].qs[j] >> 4) - 8) * d;
        }
      }
      return;
    }
    case DType::kQ8_0: {
      const auto* b = static_cast<const BlockQ8_0*>(blocks);
      for (size_t i = 0; i < n / 32; ++i, out += 32) {
        const float d = F16ToF32(b[i].d);
        for (int j = 0; j < 32; ++j) out[j] = float(b[i].qs[j]) * d;
      }
      return;
    }
    case DType::kQ4_K: {
      const auto* b = static_cast<const BlockQ4_K*>(blocks);
      for (size_t i = 0; i < n / 256; ++i) {
        const float d = F16ToF32(b[i].d), dmin = F16ToF32(b[i].dmin);
        const uint8_t* q = b[i].qs;
        for (int j = 0; j < 4; ++j, q += 32) {
          uint8_t sc, m;
          Q4KScaleMin(b[i].scales, 2 * j, &sc, &m);
          const float d1 = d * sc, m1 = dmin * m;
          Q4KScaleMin(b[i].scales, 2 * j + 1, &sc, &m);
          const float d2 = d * sc, m2 = dmin * m;
          for (int l = 0; l < 32; ++l) *out++ = d1 * float(q[l] & 0xF) - m1;
          for (int l = 0; l < 32; ++l) *out++ = d2 * float(q[l] >> 4) - m2;
        }
      }
      return;
    }
    case DType::kQ6_K: {
      const auto* b = static_cast<const BlockQ6_K*>(blocks);
      for (size_t i = 0; i < n / 256; ++i) {
        const float d = F16ToF32(b[i].d);
        const uint8_t* ql = b[i].ql;
        const uint8_t* qh = b[i].qh;
        const int8_t* sc = b[i].scales;
        for (int half = 0; half < 2; ++half, out += 128, ql += 64, qh += 32, sc += 8) {
          for (int l = 0; l < 32; ++l) {
            const int is = l / 16;
            const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            out[l] = d * float(sc[is + 0]) * float(q1);
            out[l + 32] = d * float(sc[is + 2]) * float(q2);
            out[l + 64] = d * float(sc[is + 4]) * float(q3);
            out[l + 96] = d * float(sc[is + 6]) * float(q4);
          }
        }
      }
      return;
    }
    case DType::kQ5_0: {
      const auto* b = static_cast<const BlockQ5_0*>(blocks);
      for (size_t i = 0; i < n / 32; ++i, out += 32) {
        const float d = F16ToF32(b[i].d);
        for (int j = 0; j < 32; ++j) out[j] = float(Q5_0Code(b[i], j) - 16) * d;
      }
      return;
    }
    case DType::kQ2_K: {
      const auto* b = static_cast<const BlockQ2_K*>(blocks);
      for (size_t i = 0; i < n / 256; ++i, out += 256) {
        const float d = F16ToF32(b[i].d), dmin = F16ToF32(b[i].dmin);
        for (int e = 0; e < 256; ++e) {
          const uint8_t sc = b[i].scales[e / 16];
          out[e] = d * float(sc & 0xF) * float(Q2KCode(b[i], e)) - dmin * float(sc >> 4);
        }
      }
      return;
    }
    case DType::kQ3_K: {
      const auto* b = static_cast<const BlockQ3_K*>(blocks);
      for (size_t i = 0; i < n / 256; ++i, out += 256) {
        const float d = F16ToF32(b[i].d);
        int8_t sc[16];
        Q3KScales(b[i].scales, sc);
        for (int e = 0; e < 256; ++e) out[e] = d * float(sc[e / 16]) * float(Q3KCode(b[i], e));
      }
      return;
    }
    case DType::kQ4_1: {
      const auto* b = static_cast<const BlockQ4_1*>(blocks);
      for (size_t i = 0; i < n / 32; ++i, out += 32) {
        const float d = F16ToF32(b[i].d), m = F16ToF32(b[i].m);
        for (int j = 0; j < 16; ++j) {
          out[j] = float(b[i].qs[j] & 0x0F) * d + m;
          out[j + 16] = float(b[i].qs[j] >> 4) * d + m;
        }
      }
      return;
    }
    case DType::kQ5_1: {
      const auto* b = static_cast<const BlockQ5_1*>(blocks);
      for (size_t i = 0; i < n / 32; ++i, out += 32) {
        const float d = F16ToF32(b[i].d), m = F16ToF32(b[i].m);
        for (int j = 0; j < 32; ++j) out[j] = float(Q5_1Code(b[i], j)) * d + m;
      }
      return;
    }
    case DType::kQ5_K: {
      const auto* b = static_cast<const BlockQ5_K*>(blocks);
      for (size_t i = 0; i < n / 256; ++i, out += 256) {
        const float d = F16ToF32(b[i].d), dmin = F16ToF32(b[i].dmin);
        for (int j = 0; j < 8; ++j) {
          uint8_t sc, m;
          Q4KScaleMin(b[i].scales, j, &sc, &m);
          const float d1 = d * sc, m1 = dmin * m;
          for (int l = 0; l < 32; ++l) out[32 * j + l] = d1 * float(Q5KCode(b[i], 32 * j + l)) - m1;
        }
      }
      return;
    }
    default:
      return;
  }
}

void QuantizeRowQ8_0(const float* x, size_t n, BlockQ8_0* out) {
  for (size_t i = 0; i < n / 32; ++i, x += 32) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[i].d = F32ToF16(d);
    for (int j = 0; j < 32; ++j) out[i].qs[j] = int8_t(std::round(x[j] * id));
  }
}

void QuantizeRowQ4_0(const float* x, size_t n, BlockQ4_0* out) {
  for (size_t i = 0; i < n / 32; ++i, x += 32) {
    const float max = SignedAbsMax(x, 32);
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[i].d = F32ToF16(d);
    for (int j = 0; j < 16; ++j) {
      const uint8_t lo = uint8_t(std::min(15, int(int8_t(x[j] * id + 8.5f))));
      const uint8_t hi = uint8_t(std::min(15, int(int8_t(x[j + 16] * id + 8.5f))));
      out[i].qs[j] = uint8_t(lo | (hi << 4));
    }
  }
}

namespace {
// quantize_row_q4_1_ref / quantize_row_q5_1_ref's min/max scaling of one block of 32.
inline void MinMaxScale(const float* x, int levels, float* d, float* min, float* id) {
  float lo = FLT_MAX, hi = -FLT_MAX;
  for (int j = 0; j < 32; ++j) {
    lo = std::min(lo, x[j]);
    hi = std::max(hi, x[j]);
  }
  *d = (hi - lo) / float(levels);
  *id = *d != 0.0f ? 1.0f / *d : 0.0f;
  *min = lo;
}
// (v - min) * id + 0.5 truncated toward zero, as llama.cpp's casts; NaN and out-of-range values
// (a NaN or infinite input) give 0 instead of undefined behaviour.
inline int TruncCode(float v) {
  return v >= 0.0f && v < 256.0f ? int(v) : 0;
}
// Q5_0 / Q5_1: the 5-bit codes of elements j and j + 16 (0 <= j < 16): low nibbles into qs[j],
// fifth bits into bits j and j + 16 of qh.
inline void PutQ5Codes(int j, int lo, int hi, uint8_t* qs, uint32_t* qh) {
  qs[j] = uint8_t((lo & 0x0F) | (hi & 0x0F) << 4);
  *qh |= uint32_t((lo & 0x10) >> 4) << j;
  *qh |= uint32_t((hi & 0x10) >> 4) << (j + 16);
}
}  // namespace

void QuantizeRowQ4_1(const float* x, size_t n, BlockQ4_1* out) {
  for (size_t i = 0; i < n / 32; ++i, x += 32) {
    float d, min, id;
    MinMaxScale(x, 15, &d, &min, &id);
    out[i].d = F32ToF16(d);
    out[i].m = F32ToF16(min);
    for (int j = 0; j < 16; ++j) {
      const int lo = std::min(15, TruncCode((x[j] - min) * id + 0.5f));
      const int hi = std::min(15, TruncCode((x[j + 16] - min) * id + 0.5f));
      out[i].qs[j] = uint8_t(lo | hi << 4);
    }
  }
}

void QuantizeRowQ5_1(const float* x, size_t n, BlockQ5_1* out) {
  for (size_t i = 0; i < n / 32; ++i, x += 32) {
    float d, min, id;
    MinMaxScale(x, 31, &d, &min, &id);
    out[i].d = F32ToF16(d);
    out[i].m = F32ToF16(min);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      PutQ5Codes(j, TruncCode((x[j] - min) * id + 0.5f), TruncCode((x[j + 16] - min) * id + 0.5f),
                 out[i].qs, &qh);
    }
    for (int k = 0; k < 4; ++k) out[i].qh[k] = uint8_t(qh >> (8 * k));
  }
}

void QuantizeRowQ5_0(const float* x, size_t n, BlockQ5_0* out) {
  for (size_t i = 0; i < n / 32; ++i, x += 32) {
    const float max = SignedAbsMax(x, 32);
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    out[i].d = F32ToF16(d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      PutQ5Codes(j, std::min(31, TruncCode(x[j] * id + 16.5f)),
                 std::min(31, TruncCode(x[j + 16] * id + 16.5f)), out[i].qs, &qh);
    }
    for (int k = 0; k < 4; ++k) out[i].qh[k] = uint8_t(qh >> (8 * k));
  }
}

size_t QuantizedActivationsFloats(size_t n) {
  // Byte arrays (q, q4: n each), then 4-byte arrays: d n/32, sum16 n/16, sum4 n/4, d4 and c4
  // n/8 each, d8 and c8 n/4 each, unrounded d and s n/32 each, k_pairs n/64. Whole 64-byte
  // lines.
  const size_t bytes =
      2 * n + 4 * (n / 32 + n / 16 + n / 4 + 2 * (n / 8) + 2 * (n / 4) + 2 * (n / 32) + n / 64);
  return (bytes + 63) / 64 * 16;
}

void QuantizeActivationBlocks(const float* x, size_t n, int8_t* q, float* d, float* d_f32) {
  for (size_t b = 0; b < n / 32; ++b) {
    const float* xb = x + 32 * b;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    d[b] = F16ToF32(F32ToF16(amax / 127.0f));
    if (d_f32 != nullptr) d_f32[b] = amax / 127.0f;
    for (int j = 0; j < 32; ++j)
      q[32 * b + j] = ToInt8Clamped(xb[j] * id);
  }
}

void QuantizeActivationBlocksQ8K(const float* x, size_t n, int8_t* q, float* d, float* d_f32) {
  for (size_t b = 0; b < n / 256; ++b) {
    const float* xb = x + 256 * b;
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 256; ++j) {
      if (std::fabs(xb[j]) > amax) {
        amax = std::fabs(xb[j]);
        max = xb[j];
      }
    }
    const float iscale = amax != 0.0f ? -127.0f / max : 0.0f;
    for (int j = 0; j < 256; ++j)
      q[256 * b + j] = ToInt8Clamped(iscale * xb[j]);
    const float db = amax != 0.0f ? 1.0f / iscale : 0.0f;
    for (int k = 0; k < 8; ++k) d[8 * b + k] = db;
    if (d_f32 != nullptr)
      for (int k = 0; k < 8; ++k) d_f32[8 * b + k] = db;
  }
}

QuantizedActivations FinishQuantizedActivations(size_t n, float* storage) {
  QuantizedActivations a;
  a.n = n;
  int8_t* q = reinterpret_cast<int8_t*>(storage);
  int8_t* q4 = q + n;
  float* d = reinterpret_cast<float*>(q4 + n);  // 2n is a multiple of 64: aligned
  int32_t* sums = reinterpret_cast<int32_t*>(d + n / 32);
  int32_t* sum4 = sums + n / 16;
  float* d4 = reinterpret_cast<float*>(sum4 + n / 4);
  int32_t* c4 = reinterpret_cast<int32_t*>(d4 + n / 8);
  float* d8 = reinterpret_cast<float*>(c4 + n / 8);
  int32_t* c8 = reinterpret_cast<int32_t*>(d8 + n / 4);
  float* d_f32 = reinterpret_cast<float*>(c8 + n / 4);
  float* s = d_f32 + n / 32;
  int32_t* k_pairs = reinterpret_cast<int32_t*>(s + n / 32);
  for (size_t g = 0; g < n / 4; ++g) {
    const int8_t* qg = q + 4 * g;
    sum4[g] = qg[0] + qg[1] + qg[2] + qg[3];
  }
  for (size_t h = 0; h < n / 16; ++h)
    sums[h] = sum4[4 * h] + sum4[4 * h + 1] + sum4[4 * h + 2] + sum4[4 * h + 3];
  for (size_t g = 0; g < n / 128; ++g) {  // Q4_0 groups of 4 blocks
    for (size_t blk = 0; blk < 4; ++blk) {
      const size_t b = 4 * g + blk;
      std::memcpy(q4 + 128 * g + 16 * blk, q + 32 * b, 16);
      std::memcpy(q4 + 128 * g + 64 + 16 * blk, q + 32 * b + 16, 16);
      for (size_t l = 0; l < 4; ++l) {
        d4[16 * g + 4 * blk + l] = d[b];
        c4[16 * g + 4 * blk + l] = -8 * (sum4[8 * b + l] + sum4[8 * b + 4 + l]);
      }
    }
  }
  for (size_t g = 0; g < n / 64; ++g) {  // Q8_0 groups of 2 blocks
    for (size_t l = 0; l < 16; ++l) {
      d8[16 * g + l] = d[2 * g + l / 8];
      c8[16 * g + l] = -128 * sum4[16 * g + l];
    }
  }
  for (size_t b = 0; b < n / 32; ++b)  // Q8_1: fp16(d' * sum), as llama.cpp's x86 quantizer
    s[b] = F16ToF32(F32ToF16(d_f32[b] * float(sums[2 * b] + sums[2 * b + 1])));
  // K-quant blocks (256): sub-block j's sum is sums[16 b + 2 j] + sums[16 b + 2 j + 1].
  for (size_t b = 0; b < n / 256; ++b) {
    const auto sub = [&](size_t j) {
      return uint32_t(uint16_t(int16_t(sums[16 * b + 2 * j] + sums[16 * b + 2 * j + 1])));
    };
    static constexpr size_t kPairs[4][2] = {{0, 2}, {1, 3}, {4, 6}, {5, 7}};
    for (size_t k = 0; k < 4; ++k)
      k_pairs[4 * b + k] = int32_t(sub(kPairs[k][0]) | sub(kPairs[k][1]) << 16);
  }
  a.q = q;
  a.d = d;
  a.s = s;
  a.k_pairs = k_pairs;
  a.sum16 = sums;
  a.sum4 = sum4;
  a.q4 = q4;
  a.d4 = d4;
  a.c4 = c4;
  a.d8 = d8;
  a.c8 = c8;
  return a;
}

int8_t* ActivationCodes(size_t, float* storage) { return reinterpret_cast<int8_t*>(storage); }
float* ActivationScales(size_t n, float* storage) {
  return reinterpret_cast<float*>(reinterpret_cast<int8_t*>(storage) + 2 * n);
}
float* ActivationUnroundedScales(size_t n, float* storage) {
  // After d, sum16, sum4, d4, c4, d8, c8 (FinishQuantizedActivations' layout).
  return ActivationScales(n, storage) + n / 32 + n / 16 + n / 4 + 2 * (n / 8) + 2 * (n / 4);
}

QuantizedActivations QuantizeActivations(const float* x, size_t n, float* storage,
                                         ActivationQuant kind) {
  if (kind == ActivationQuant::kQ8_K)
    QuantizeActivationBlocksQ8K(x, n, ActivationCodes(n, storage), ActivationScales(n, storage),
                                ActivationUnroundedScales(n, storage));
  else
    QuantizeActivationBlocks(x, n, ActivationCodes(n, storage), ActivationScales(n, storage),
                             ActivationUnroundedScales(n, storage));
  return FinishQuantizedActivations(n, storage);
}

float QuantizedRowDotReference(DType t, const void* row, const QuantizedActivations& x) {
  const int8_t* xq = x.q;
  double acc = 0.0;
  switch (t) {
    case DType::kQ4_0: {
      const auto* b = static_cast<const BlockQ4_0*>(row);
      for (size_t i = 0; i < x.n / 32; ++i) {
        int32_t s = 0;
        for (int j = 0; j < 16; ++j)
          s += ((b[i].qs[j] & 0xF) - 8) * xq[32 * i + j] +
               ((b[i].qs[j] >> 4) - 8) * xq[32 * i + j + 16];
        acc += double(F16ToF32(b[i].d)) * double(x.d[i]) * s;
      }
      break;
    }
    case DType::kQ8_0: {
      const auto* b = static_cast<const BlockQ8_0*>(row);
      for (size_t i = 0; i < x.n / 32; ++i) {
        int32_t s = 0;
        for (int j = 0; j < 32; ++j) s += b[i].qs[j] * xq[32 * i + j];
        acc += double(F16ToF32(b[i].d)) * double(x.d[i]) * s;
      }
      break;
    }
    case DType::kQ5_0: {
      const auto* b = static_cast<const BlockQ5_0*>(row);
      for (size_t i = 0; i < x.n / 32; ++i) {
        int32_t s = 0;
        for (int j = 0; j < 32; ++j) s += (Q5_0Code(b[i], j) - 16) * xq[32 * i + j];
        acc += double(F16ToF32(b[i].d)) * double(x.d[i]) * s;
      }
      break;
    }
    case DType::kQ4_1:
    case DType::kQ5_1: {
      // Exact integer dot product of the codes, times d_w d_a, plus the min times Q8_1's s.
      const size_t bb = DTypeBlockBytes(t);
      for (size_t i = 0; i < x.n / 32; ++i) {
        const uint8_t* blk = static_cast<const uint8_t*>(row) + i * bb;
        int32_t s = 0;
        for (int j = 0; j < 32; ++j) {
          const int code =
              t == DType::kQ4_1
                  ? (j < 16 ? reinterpret_cast<const BlockQ4_1*>(blk)->qs[j] & 0xF
                            : reinterpret_cast<const BlockQ4_1*>(blk)->qs[j - 16] >> 4)
                  : Q5_1Code(*reinterpret_cast<const BlockQ5_1*>(blk), j);
          s += code * xq[32 * i + j];
        }
        uint16_t dh, mh;  // d and m lead both layouts
        std::memcpy(&dh, blk, 2);
        std::memcpy(&mh, blk + 2, 2);
        acc += double(F16ToF32(dh)) * double(x.d[i]) * s + double(F16ToF32(mh)) * double(x.s[i]);
      }
      break;
    }
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K: {
      // Through the exact dequantized values: the K-quant scales make every element a small
      // integer times a per-sub-block float, which the kernels accumulate per sub-block.
      float w[256];
      const size_t block_bytes = DTypeBlockBytes(t);
      for (size_t i = 0; i < x.n / 256; ++i) {
        DequantizeRow(t, static_cast<const uint8_t*>(row) + i * block_bytes, 256, w);
        for (int j = 0; j < 256; ++j)
          acc += double(w[j]) * double(x.d[(256 * i + j) / 32]) * xq[256 * i + j];
      }
      break;
    }
    default:
      break;
  }
  return float(acc);
}

}  // namespace floe
