// Block-quantized weights: dequantization of hand-computed blocks (the ggml layouts), the
// quantize round trip within each format's error bound, and the quantized MatVec / MatMul on
// every compiled Highway target against scalar references.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "platform/kernels/kernel_targets.h"
#include "platform/kernels/ops.h"
#include "platform/kernels/reference.h"
#include "platform/quant/quant.h"
#include "platform/base/tensor.h"
#include "platform/base/thread_context.h"
#include "quant_bounds.h"

using namespace floe;

namespace {

template <class Fn>
void ForEachTarget(Fn&& fn) {
  for (const int64_t t : KernelTargets()) {
    ScopedKernelTarget scoped(t);
    INFO("target " << KernelTargetName(t));
    fn();
  }
}

}  // namespace

TEST_CASE("Q4_0 and Q8_0 blocks dequantize as ggml defines them", "[unit]") {
  BlockQ4_0 q4;
  q4.d = F32ToF16(0.5f);
  for (int j = 0; j < 16; ++j) q4.qs[j] = uint8_t(j | ((15 - j) << 4));
  float out[32];
  DequantizeRow(DType::kQ4_0, &q4, 32, out);
  // Element j: low nibble j -> (j - 8) * 0.5; element 16 + j: high nibble 15 - j -> (7 - j) * 0.5.
  CHECK(out[0] == -4.0f);
  CHECK(out[8] == 0.0f);
  CHECK(out[15] == 3.5f);
  CHECK(out[16] == 3.5f);
  CHECK(out[31] == -4.0f);
  BlockQ8_0 q8;
  q8.d = F32ToF16(0.25f);
  for (int j = 0; j < 32; ++j) q8.qs[j] = int8_t(j * 8 - 128);
  DequantizeRow(DType::kQ8_0, &q8, 32, out);
  CHECK(out[0] == -32.0f);
  CHECK(out[16] == 0.0f);
  CHECK(out[31] == 30.0f);
}

TEST_CASE("Q4_K block: packed 6-bit scales and mins", "[unit]") {
  BlockQ4_K b;
  b.d = F32ToF16(1.0f);
  b.dmin = F32ToF16(0.5f);
  // Sub-blocks 0-3: scale = scales[j] & 63, min = scales[j+4] & 63. Sub-blocks 4-7: scale =
  // (scales[j+4] & 15) | (scales[j-4] >> 6) << 4, min = (scales[j+4] >> 4) | (scales[j] >> 6) << 4.
  const uint8_t scales[12] = {1 | 0x40, 2, 3, 4, 5 | 0x80, 6, 7, 8, 0x21, 0x43, 0x65, 0x87};
  std::memcpy(b.scales, scales, 12);
  // Hand-derived: sub 0: sc 1, m 5; sub 1: 2, 6; sub 2: 3, 7; sub 3: 4, 8;
  // sub 4: sc 1 | (1 << 4) = 17, m 2 | (2 << 4) = 34; sub 5: 3, 4; sub 6: 5, 6; sub 7: 7, 8.
  const float sc[8] = {1, 2, 3, 4, 17, 3, 5, 7}, mn[8] = {5, 6, 7, 8, 34, 4, 6, 8};
  for (int i = 0; i < 128; ++i) b.qs[i] = uint8_t(0x93);  // low nibble 3, high nibble 9
  float out[256];
  DequantizeRow(DType::kQ4_K, &b, 256, out);
  for (int e = 0; e < 256; ++e) {
    // Element e is in sub-block e / 32; even sub-blocks use low nibbles (3), odd high (9).
    const int s = e / 32;
    const float q = s % 2 == 0 ? 3.0f : 9.0f;
    INFO("element " << e);
    CHECK(out[e] == 1.0f * sc[s] * q - 0.5f * mn[s]);
  }
}

TEST_CASE("Q6_K block: 4+2-bit codes, int8 scales per 16", "[unit]") {
  BlockQ6_K b;
  b.d = F32ToF16(0.5f);
  for (int k = 0; k < 16; ++k) b.scales[k] = int8_t(k - 5);
  std::memset(b.ql, 0x21, sizeof b.ql);  // low nibble 1, high nibble 2
  std::memset(b.qh, 0xE4, sizeof b.qh);  // 2-bit fields (from bit 0): 0, 1, 2, 3
  // Per half of 128 elements, quarter k (32 elements each) takes: k=0 low nibble + field 0 ->
  // 1 - 32 = -31; k=1 low + field 1 -> 17 - 32 = -15; k=2 high + field 2 -> 34 - 32 = 2;
  // k=3 high + field 3 -> 50 - 32 = 18. Scale index = 8 * half + 2 * k + (element % 32) / 16.
  const float q[4] = {-31, -15, 2, 18};
  float out[256];
  DequantizeRow(DType::kQ6_K, &b, 256, out);
  for (int e = 0; e < 256; ++e) {
    const int half = e / 128, k = (e % 128) / 32, s = 8 * half + 2 * k + (e % 32) / 16;
    INFO("element " << e);
    CHECK(out[e] == 0.5f * float(s - 5) * q[k]);
  }
}

TEST_CASE("Q4_1 and Q5_1 blocks dequantize as ggml defines them", "[unit]") {
  // ggml dequantize_row_q4_1: y[j] = (qs[j] & 15) * d + m, y[j + 16] = (qs[j] >> 4) * d + m.
  BlockQ4_1 q4;
  q4.d = F32ToF16(0.5f);
  q4.m = F32ToF16(-2.0f);
  for (int j = 0; j < 16; ++j) q4.qs[j] = uint8_t(j | ((15 - j) << 4));
  float out[32];
  DequantizeRow(DType::kQ4_1, &q4, 32, out);
  CHECK(out[0] == -2.0f);
  CHECK(out[15] == 5.5f);   // 15 * 0.5 - 2
  CHECK(out[16] == 5.5f);   // high nibble of qs[0] = 15
  CHECK(out[31] == -2.0f);
  // ggml dequantize_row_q5_1: fifth bit of element j is bit j of qh (little-endian uint32).
  BlockQ5_1 q5;
  q5.d = F32ToF16(0.25f);
  q5.m = F32ToF16(1.0f);
  for (int j = 0; j < 16; ++j) q5.qs[j] = uint8_t(3 | (12 << 4));
  const uint32_t qh = 0x80000001u;  // elements 0 and 31 get +16
  std::memcpy(q5.qh, &qh, 4);
  DequantizeRow(DType::kQ5_1, &q5, 32, out);
  CHECK(out[0] == 19 * 0.25f + 1.0f);
  CHECK(out[1] == 3 * 0.25f + 1.0f);
  CHECK(out[16] == 12 * 0.25f + 1.0f);
  CHECK(out[31] == 28 * 0.25f + 1.0f);
}

TEST_CASE("Q5_K block: Q4_K's scales, fifth bits in qh", "[unit]") {
  BlockQ5_K b;
  b.d = F32ToF16(1.0f);
  b.dmin = F32ToF16(0.5f);
  // The same packed scales as the Q4_K case: (sc, m) = (1,5) (2,6) (3,7) (4,8) (17,34) (3,4)
  // (5,6) (7,8).
  const uint8_t scales[12] = {1 | 0x40, 2, 3, 4, 5 | 0x80, 6, 7, 8, 0x21, 0x43, 0x65, 0x87};
  std::memcpy(b.scales, scales, 12);
  const float sc[8] = {1, 2, 3, 4, 17, 3, 5, 7}, mn[8] = {5, 6, 7, 8, 34, 4, 6, 8};
  for (int i = 0; i < 128; ++i) b.qs[i] = uint8_t(0x93);  // low nibble 3, high nibble 9
  // ggml dequantize_row_q5_K: for the 64 elements j*64.., the low nibbles take bit 2j of qh[l]
  // (u1 = 1 << 2j), the high nibbles bit 2j + 1 (u2 = 2 << 2j). qh[l] = l: bits vary with l.
  for (int l = 0; l < 32; ++l) b.qh[l] = uint8_t(l * 37);
  float out[256];
  DequantizeRow(DType::kQ5_K, &b, 256, out);
  for (int e = 0; e < 256; ++e) {
    const int s = e / 32, l = e % 32;
    const float q = (s % 2 == 0 ? 3.0f : 9.0f) + (((l * 37) & 0xFF) >> s & 1 ? 16.0f : 0.0f);
    INFO("element " << e);
    CHECK(out[e] == 1.0f * sc[s] * q - 0.5f * mn[s]);
  }
}

TEST_CASE("Q5_K block: every code byte in its place (hand-computed)", "[unit]") {
  // The case above sets every code byte alike, so it cannot see the order of qs; MatVec's
  // per-target test cannot either where the kernel and DequantizeRow read qs the same wrong way.
  // Here every byte differs: qs[k] = k (low nibble k % 16, high nibble k / 16) and qh[l] = 37 l
  // (mod 256). ggml-common.h's block_q5_K: qs holds 4 groups of 32 bytes; group g gives
  // sub-block 2g its low nibbles and sub-block 2g + 1 its high nibbles, element l of a sub-block
  // taking byte l of the group; qh[l] bit j is the fifth bit of element l of sub-block j.
  BlockQ5_K b;
  b.d = F32ToF16(1.0f);
  b.dmin = F32ToF16(0.5f);
  const uint8_t scales[12] = {1 | 0x40, 2, 3, 4, 5 | 0x80, 6, 7, 8, 0x21, 0x43, 0x65, 0x87};
  std::memcpy(b.scales, scales, 12);  // (sc, m) per sub-block as in the Q4_K case
  for (int k = 0; k < 128; ++k) b.qs[k] = uint8_t(k);
  for (int l = 0; l < 32; ++l) b.qh[l] = uint8_t(l * 37);
  float out[256];
  DequantizeRow(DType::kQ5_K, &b, 256, out);
  // Worked by hand, x = 1 * sc * code - 0.5 * m:
  // element 5: sub 0, l 5: qs[5] = 0x05, low nibble 5; qh[5] = 185 = 0b10111001, bit 0 = 1:
  //   code 21, (sc, m) = (1, 5): 21 - 2.5 = 18.5.
  CHECK(out[5] == 18.5f);
  // element 40: sub 1, l 8: qs[8] = 0x08, high nibble 0; qh[8] = 40 = 0b101000, bit 1 = 0:
  //   code 0, (2, 6): -3.
  CHECK(out[40] == -3.0f);
  // element 100: sub 3, l 4: group 1, qs[36] = 0x24, high nibble 2; qh[4] = 148 = 0b10010100,
  //   bit 3 = 0: code 2, (4, 8): 8 - 4 = 4.
  CHECK(out[100] == 4.0f);
  // element 150: sub 4, l 22: group 2, qs[86] = 0x56, low nibble 6; qh[22] = 46 = 0b101110,
  //   bit 4 = 0: code 6, (17, 34): 102 - 17 = 85.
  CHECK(out[150] == 85.0f);
  // element 230: sub 7, l 6: group 3, qs[102] = 0x66, high nibble 6; qh[6] = 222 = 0b11011110,
  //   bit 7 = 1: code 22, (7, 8): 154 - 4 = 150.
  CHECK(out[230] == 150.0f);
  // element 255: sub 7, l 31: qs[127] = 0x7F, high nibble 7; qh[31] = 123, bit 7 = 0: code 7,
  //   49 - 4 = 45.
  CHECK(out[255] == 45.0f);
  // Every element, walking the layout as ggml-common.h states it (group by group).
  const float sc[8] = {1, 2, 3, 4, 17, 3, 5, 7}, mn[8] = {5, 6, 7, 8, 34, 4, 6, 8};
  for (int g = 0; g < 4; ++g) {
    for (int l = 0; l < 32; ++l) {
      const int byte = 32 * g + l, low = byte & 0xF, high = byte >> 4;
      const int qh = (l * 37) & 0xFF;
      const int five_lo = qh >> (2 * g) & 1, five_hi = qh >> (2 * g + 1) & 1;
      INFO("group " << g << " byte " << l);
      CHECK(out[64 * g + l] == sc[2 * g] * float(low + 16 * five_lo) - 0.5f * mn[2 * g]);
      CHECK(out[64 * g + 32 + l] ==
            sc[2 * g + 1] * float(high + 16 * five_hi) - 0.5f * mn[2 * g + 1]);
    }
  }
  // The kernels read qs themselves: MatVec of the block with one-hot activations picks out one
  // element (Q8_K codes -127 with d = -1 / 127), on every target, against the values above.
  TensorView w;
  w.dtype = DType::kQ5_K;
  w.data = &b;
  w.rows = 1;
  w.cols = 256;
  const std::pair<int, float> by_hand[] = {{5, 18.5f},   {40, -3.0f},   {100, 4.0f},
                                           {150, 85.0f}, {230, 150.0f}, {255, 45.0f}};
  for (const auto& [e, want] : by_hand) {
    std::vector<float> x(256, 0.0f);
    x[e] = 1.0f;
    ForEachTarget([&] {
      float y = 0.0f;
      MatVec(w, x.data(), &y, nullptr);
      INFO("element " << e);
      CHECK(std::fabs(y - want) <= 1e-5f * std::fabs(want));
    });
  }
}

TEST_CASE("activations quantize by llama.cpp's Q8_0 and Q8_K rules", "[unit]") {
  // Q8_0 (blocks of 32): id = 127 / max|x|, codes rounded half to even, d = fp16(max|x| / 127).
  std::vector<float> x(256, 0.0f);
  x[0] = 1.0f;
  x[1] = -0.5f;    // -63.5 -> -64 (half to even)
  x[2] = 0.25f;    // 31.75 -> 32
  x[3] = 0.003f;   // 0.381 -> 0
  std::vector<float> storage(QuantizedActivationsFloats(256));
  QuantizedActivations a = QuantizeActivations(x.data(), 256, storage.data());
  CHECK(a.q[0] == 127);
  CHECK(a.q[1] == -64);
  CHECK(a.q[2] == 32);
  CHECK(a.q[3] == 0);
  CHECK(a.d[0] == F16ToF32(F32ToF16(1.0f / 127.0f)));
  CHECK(a.d[0] != 1.0f / 127.0f);  // the fp16 rounding is visible
  CHECK(a.d[1] == 0.0f);           // an all-zero block
  // Q8_1 (for Q4_1 / Q5_1): s = fp16(d' * sum q) with d' = max|x| / 127 before fp16 rounding.
  const int sum0 = 127 - 64 + 32;
  CHECK(a.s[0] == F16ToF32(F32ToF16(1.0f / 127.0f * float(sum0))));
  CHECK(a.s[1] == 0.0f);
  // Q8_K (blocks of 256): m = the element of largest |x| (the first on ties), iscale = -127 / m,
  // q = min(127, round(iscale * x)), d = 1 / iscale in f32, one d for the 256.
  x[5] = -2.0f;
  x[7] = 2.0f;  // the same |x| later: not m
  a = QuantizeActivations(x.data(), 256, storage.data(), ActivationQuant::kQ8_K);
  CHECK(a.q[5] == -127);  // iscale = 63.5, so x = -2 -> -127
  CHECK(a.q[7] == 127);
  CHECK(a.q[0] == 64);    // 63.5 -> 64 (half to even)
  CHECK(a.q[1] == -32);   // -31.75
  for (int b = 0; b < 8; ++b) CHECK(a.d[b] == 1.0f / 63.5f);
  CHECK(ActivationQuantOf(DType::kQ4_0) == ActivationQuant::kQ8_0);
  CHECK(ActivationQuantOf(DType::kQ5_0) == ActivationQuant::kQ8_0);
  CHECK(ActivationQuantOf(DType::kQ4_1) == ActivationQuant::kQ8_1);
  CHECK(ActivationQuantOf(DType::kQ5_1) == ActivationQuant::kQ8_1);
  CHECK(ActivationQuantOf(DType::kQ5_K) == ActivationQuant::kQ8_K);
  CHECK(ActivationQuantOf(DType::kQ2_K) == ActivationQuant::kQ8_K);
  CHECK(ActivationQuantOf(DType::kQ6_K) == ActivationQuant::kQ8_K);
}

TEST_CASE("Q8_0 / Q4_0 quantize round trip within the format's error bound", "[unit]") {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(32 * 64);
  for (auto& v : x) v = dist(rng);
  x[5] = 0.0f;
  std::fill(x.begin() + 64, x.begin() + 96, 0.0f);  // an all-zero block
  std::vector<BlockQ8_0> q8(64);
  std::vector<BlockQ4_0> q4(64);
  QuantizeRowQ8_0(x.data(), x.size(), q8.data());
  QuantizeRowQ4_0(x.data(), x.size(), q4.data());
  std::vector<float> d8(x.size()), d4(x.size());
  DequantizeRow(DType::kQ8_0, q8.data(), x.size(), d8.data());
  DequantizeRow(DType::kQ4_0, q4.data(), x.size(), d4.data());
  for (size_t b = 0; b < 64; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * b + j]));
    // Q8_0: step amax/127 (stored as f16: relative error <= 2^-11), rounding to nearest.
    const float step8 = amax / 127.0f;
    // Q4_0: step amax/8, codes -8..7 around the signed max; the far end of the range is at
    // most 7 steps (+ half a step of rounding) from 0.
    const float step4 = amax / 8.0f;
    for (int j = 0; j < 32; ++j) {
      const size_t i = 32 * b + j;
      INFO("block " << b << " element " << j << " x " << x[i]);
      CHECK(std::fabs(d8[i] - x[i]) <= 0.5f * step8 + amax * 0x1p-10f);
      CHECK(std::fabs(d4[i] - x[i]) <=
            0.5f * step4 + amax * 0x1p-10f + (std::fabs(x[i]) > 7.5f * step4 ? step4 : 0.0f));
    }
  }
}

TEST_CASE("Q4_1 / Q5_1 quantize hand-computed blocks as llama.cpp's reference", "[unit]") {
  // Values chosen so that quantize_row_q4_1_ref / q5_1_ref's arithmetic is exact: min -1 and
  // max 14 (Q4_1) or 30 (Q5_1) make d = 1, so element j's code is trunc(x + 1 + 0.5).
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = float(j) - 1.0f;  // Q5_1: codes 0..31 = j
  BlockQ5_1 q5;
  QuantizeRowQ5_1(x, 32, &q5);
  CHECK(q5.d == 0x3C00);  // fp16 1.0
  CHECK(q5.m == 0xBC00);  // fp16 -1.0
  // qs[j]: low nibble = code j (element j), high nibble = code of element j + 16 = j (mod 16);
  // qh: bit j = fifth bit of element j's code, set for j >= 16: 0xFFFF0000 little-endian.
  for (int j = 0; j < 16; ++j) CHECK(q5.qs[j] == uint8_t(j | j << 4));
  CHECK(q5.qh[0] == 0x00);
  CHECK(q5.qh[1] == 0x00);
  CHECK(q5.qh[2] == 0xFF);
  CHECK(q5.qh[3] == 0xFF);
  // Q4_1 on [-1, 14]: element 0 = -1 (the min, code 0), element 15 = 14 (the max, code 15);
  // element j in 1..14 is j - 0.6, so x + 1 + 0.5 = j + 0.9 truncates to code j; element 16 + j
  // (j < 15) is j - 0.4: j + 1.1, code j + 1; element 31 = 13.6: 15.1, code 15.
  for (int j = 0; j < 16; ++j) {
    x[j] = j == 0 ? -1.0f : j == 15 ? 14.0f : float(j) - 0.6f;
    x[j + 16] = j == 15 ? 13.6f : float(j) - 0.4f;
  }
  BlockQ4_1 q4;
  QuantizeRowQ4_1(x, 32, &q4);
  CHECK(q4.d == 0x3C00);
  CHECK(q4.m == 0xBC00);
  for (int j = 0; j < 16; ++j) {
    INFO("byte " << j);
    const int hi = std::min(15, j + 1);
    CHECK(q4.qs[j] == uint8_t(j | hi << 4));
  }
}

TEST_CASE("Q4_1 / Q5_1 quantize round trip within the format's error bound", "[unit]") {
  std::mt19937 rng(6);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(32 * 256);
  for (auto& v : x) v = dist(rng);
  std::fill(x.begin() + 64, x.begin() + 96, 0.0f);    // an all-zero block: d = 0
  std::fill(x.begin() + 128, x.begin() + 160, 3.0f);  // a constant block
  for (int j = 0; j < 32; ++j) x[192 + j] = 1000.0f + 1e-3f * float(j);  // far from 0, narrow
  for (int j = 0; j < 32; ++j) x[224 + j] = 1e-6f * float(j);  // d below fp16's normal range
  std::vector<BlockQ4_1> q4(x.size() / 32);
  std::vector<BlockQ5_1> q5(x.size() / 32);
  QuantizeRowQ4_1(x.data(), x.size(), q4.data());
  QuantizeRowQ5_1(x.data(), x.size(), q5.data());
  std::vector<float> d4(x.size()), d5(x.size());
  DequantizeRow(DType::kQ4_1, q4.data(), x.size(), d4.data());
  DequantizeRow(DType::kQ5_1, q5.data(), x.size(), d5.data());
  double worst4 = 0.0, worst5 = 0.0;  // max |error| / (d / 2) over the random blocks
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float lo = x[32 * b], hi = x[32 * b];
    for (int j = 0; j < 32; ++j) {
      lo = std::min(lo, x[32 * b + j]);
      hi = std::max(hi, x[32 * b + j]);
    }
    // The bound per block is derived in tests/common/quant_bounds.h: half a step (d / 2), the
    // fp16 rounding of d (times a code <= 15 / 31) and of m, and f32 arithmetic.
    const float bound4 = floe::testing::MinMaxBlockBound(lo, hi, 15);
    const float bound5 = floe::testing::MinMaxBlockBound(lo, hi, 31);
    for (int j = 0; j < 32; ++j) {
      const size_t i = 32 * b + j;
      INFO("block " << b << " element " << j << " x " << x[i]);
      CHECK(std::fabs(d4[i] - x[i]) <= bound4);
      CHECK(std::fabs(d5[i] - x[i]) <= bound5);
      if (b >= 8) {
        worst4 = std::max(worst4, std::fabs(double(d4[i]) - x[i]) / (0.5 * (hi - lo) / 15.0));
        worst5 = std::max(worst5, std::fabs(double(d5[i]) - x[i]) / (0.5 * (hi - lo) / 31.0));
      }
    }
  }
  // The bound is not loose: on random blocks some element lands nearly half a step away.
  std::printf("Q4_1 worst |error| / (d/2): %.4f, Q5_1: %.4f\n", worst4, worst5);
  CHECK(worst4 > 0.9);
  CHECK(worst5 > 0.9);
}

TEST_CASE("quantized MatVec and MatMul match the references on every target", "[unit]") {
  std::mt19937 rng(9);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ5_0, DType::kQ2_K, DType::kQ3_K,
                  DType::kQ4_K, DType::kQ6_K, DType::kQ4_1, DType::kQ5_1, DType::kQ5_K}) {
    // 224 and 96: a partial group of blocks for the 512-bit kernels (4 blocks per Q4_0 step,
    // 2 per Q8_0 step); K-quants need whole 256-element super-blocks.
    for (size_t cols : {256, 512, 1280, 224, 96}) {
      if (cols % DTypeBlockElems(t) != 0) continue;
      const size_t rows = 37;
      INFO(DTypeName(t) << " cols " << cols);
      // Random blocks: codes uniformly random, sane scales (f16 in [0.01, 0.1]).
      std::vector<uint8_t> bytes(rows * DTypeBytes(t, cols));
      for (auto& v : bytes) v = uint8_t(rng());
      const size_t bb = DTypeBlockBytes(t), nb = bytes.size() / bb;
      for (size_t i = 0; i < nb; ++i) {
        uint8_t* blk = bytes.data() + i * bb;
        auto put = [&](size_t off) {
          const uint16_t h = F32ToF16(0.01f + 0.09f * float(rng() % 1000) / 1000.0f);
          std::memcpy(blk + off, &h, 2);
        };
        if (t == DType::kQ6_K)
          put(208);
        else if (t == DType::kQ3_K)
          put(108);
        else if (t == DType::kQ2_K)
          put(80), put(82);
        else
          put(0);
        if (t == DType::kQ4_K || t == DType::kQ4_1 || t == DType::kQ5_1 || t == DType::kQ5_K)
          put(2);  // dmin / m
      }
      TensorView w;
      w.dtype = t;
      w.data = bytes.data();
      w.rows = rows;
      w.cols = cols;
      const size_t big = 43;  // > 16 tokens: integer tiles (32 + 11: 4-token tiles and a 3-token
                              // edge) or float panels
      std::vector<float> x(cols * big);
      for (auto& v : x) v = dist(rng);
      std::vector<float> storage(QuantizedActivationsFloats(cols));
      const QuantizedActivations xq =
          QuantizeActivations(x.data(), cols, storage.data(), ActivationQuantOf(t));
      std::vector<float> ref_q(rows), ref_f(big * rows);
      std::vector<double> abs_sum(big * rows, 0.0);  // sum_c |W[r][c] x_t[c]| per (token, row)
      std::vector<float> wrow(cols);
      for (size_t r = 0; r < rows; ++r) {
        ref_q[r] = QuantizedRowDotReference(t, bytes.data() + r * w.row_bytes(), xq);
        ToF32(w, r * cols, cols, wrow.data());
        for (size_t tok = 0; tok < big; ++tok)
          for (size_t c = 0; c < cols; ++c)
            abs_sum[tok * rows + r] += std::fabs(double(wrow[c]) * x[tok * cols + c]);
      }
      reference::MatMul(w, x.data(), big, ref_f.data(), nullptr);
      ForEachTarget([&] {
        std::vector<float> y(rows), m(big * rows), small(3 * rows), y2(rows);
        MatVec(w, x.data(), y.data(), nullptr);
        MatMul(w, x.data(), big, m.data(), nullptr);
        MatMul(w, x.data(), 3, small.data(), nullptr);  // <= 16 tokens: MatVec's path per token
        for (size_t tok = 0; tok < 3; ++tok) {
          MatVec(w, x.data() + tok * cols, y2.data(), nullptr);
          CHECK(std::memcmp(y2.data(), small.data() + tok * rows, rows * sizeof(float)) == 0);
        }
        size_t bad = 0;
        for (size_t r = 0; r < rows; ++r) {
          // MatVec: the reference's exact integer sums, scaled and summed in float.
          if (std::fabs(y[r] - ref_q[r]) > 1e-5 * abs_sum[r] + 1e-6) ++bad;
          // ... and within the activation quantization error of the float product (8-bit
          // activations: relative error per element <= 1/254 of the block max).
          if (std::fabs(y[r] - ref_f[r]) > 0.02 * abs_sum[r] + 1e-4) ++bad;
        }
        if (MatMulQuantizesActivations(t, big)) {  // integer tiles: each token equals MatVec
          for (size_t tok = 0; tok < big; ++tok) {
            MatVec(w, x.data() + tok * cols, y2.data(), nullptr);
            if (std::memcmp(y2.data(), m.data() + tok * rows, rows * sizeof(float)) != 0) ++bad;
            for (size_t r = 0; r < rows; ++r)
              if (std::fabs(y2[r] - ref_f[tok * rows + r]) > 0.02 * abs_sum[tok * rows + r] + 1e-4)
                ++bad;
          }
        } else {
          for (size_t i = 0; i < m.size(); ++i)  // float panels: summation error only
            if (std::fabs(m[i] - ref_f[i]) >
                2.0 * FLT_EPSILON * std::sqrt(double(cols)) * abs_sum[i] + 1e-6)
              ++bad;
        }
        CHECK(bad == 0);
      });
    }
  }
}

TEST_CASE("SIMD activation quantization equals the scalar reference on every target", "[unit]") {
  std::mt19937 rng(17);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  const auto kQ8_0 = ActivationQuant::kQ8_0, kQ8_K = ActivationQuant::kQ8_K;
  for (const auto& [n, kind] : std::vector<std::pair<size_t, ActivationQuant>>{{32, kQ8_0},
                                                                               {96, kQ8_0},
                                                                               {128, kQ8_0},
                                                                               {2048, kQ8_0},
                                                                               {8192 + 64, kQ8_0},
                                                                               {256, kQ8_K},
                                                                               {2048, kQ8_K},
                                                                               {8192, kQ8_K}}) {
    std::vector<float> x(n);
    for (auto& v : x) v = dist(rng);
    for (size_t i = 0; i < 32; ++i) x[i] = 0.0f;  // an all-zero block: d = 0, codes 0
    if (n > 64) x[40] = 1e30f;                    // a huge element: others round to 0
    x[n - 1] = -1e-30f;
    if (kind == kQ8_K) {
      for (size_t i = 0; i < 256; ++i) x[i] = 0.0f;  // an all-zero Q8_K block
      if (n >= 1024) {
        // Ties of magnitude: Q8_K's scale takes the sign of the first (-20 here, +20 next);
        // d = max / -127.
        x[300] = -20.0f, x[310] = 20.0f, x[600] = 20.0f, x[700] = -20.0f;
        x[800] = std::nanf(""), x[1000] = INFINITY;  // blocks the reference handles
      }
    }
    std::vector<float> ref_storage(QuantizedActivationsFloats(n)),
        simd_storage(QuantizedActivationsFloats(n));
    const QuantizedActivations ref = QuantizeActivations(x.data(), n, ref_storage.data(), kind);
    if (kind == kQ8_K && n >= 1024) {  // the ties took their first element's sign
      REQUIRE(ref.d[8] > 0.0f);
      REQUIRE(ref.d[16] < 0.0f);
    }
    ForEachTarget([&] {
      INFO("n " << n << (kind == kQ8_K ? " Q8_K" : " Q8_0"));
      std::fill(simd_storage.begin(), simd_storage.end(), -1.0f);
      const QuantizedActivations s =
          QuantizeActivationsSimd(x.data(), n, simd_storage.data(), kind);
      CHECK(std::memcmp(s.q, ref.q, n) == 0);
      CHECK(std::memcmp(s.d, ref.d, n / 32 * sizeof(float)) == 0);
      CHECK(std::memcmp(s.sum4, ref.sum4, n / 4 * sizeof(int32_t)) == 0);
      CHECK(std::memcmp(s.sum16, ref.sum16, n / 16 * sizeof(int32_t)) == 0);
      CHECK(std::memcmp(s.q4, ref.q4, n / 128 * 128) == 0);
      CHECK(std::memcmp(s.c4, ref.c4, n / 128 * 16 * sizeof(int32_t)) == 0);
      CHECK(std::memcmp(s.c8, ref.c8, n / 64 * 16 * sizeof(int32_t)) == 0);
      CHECK(std::memcmp(s.s, ref.s, n / 32 * sizeof(float)) == 0);
    });
  }
}

TEST_CASE("MatMulMany equals one MatMul per matrix, bit for bit", "[unit]") {
  std::mt19937 rng(23);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const size_t cols = 256;
  // Matrices of several types and row counts over the same input (rows not multiples of 8).
  auto make = [&](DType t, size_t rows, std::vector<uint8_t>* bytes) {
    std::vector<float> f(rows * cols);
    for (auto& v : f) v = dist(rng);
    bytes->assign(rows * DTypeBytes(t, cols), 0);
    for (size_t r = 0; r < rows; ++r) {
      const float* src = f.data() + r * cols;
      uint8_t* dst = bytes->data() + r * DTypeBytes(t, cols);
      if (t == DType::kQ8_0)
        QuantizeRowQ8_0(src, cols, reinterpret_cast<BlockQ8_0*>(dst));
      else if (t == DType::kQ4_0)
        QuantizeRowQ4_0(src, cols, reinterpret_cast<BlockQ4_0*>(dst));
      else if (t == DType::kF16)
        for (size_t c = 0; c < cols; ++c) reinterpret_cast<uint16_t*>(dst)[c] = F32ToF16(src[c]);
      else
        std::memcpy(dst, src, cols * sizeof(float));
    }
    TensorView w;
    w.dtype = t;
    w.data = bytes->data();
    w.rows = rows;
    w.cols = cols;
    return w;
  };
  const std::vector<std::vector<DType>> groups = {{DType::kQ4_0, DType::kQ8_0, DType::kQ4_0},
                                                  {DType::kF32, DType::kF16},
                                                  {DType::kQ8_0, DType::kF32}};
  for (const auto& types : groups) {
    for (size_t n_tokens : {1, 3, 20}) {
      INFO("tokens " << n_tokens);
      std::vector<std::vector<uint8_t>> bytes(types.size());
      std::vector<TensorView> ws;
      for (size_t i = 0; i < types.size(); ++i)
        ws.push_back(make(types[i], 37 + 11 * i, &bytes[i]));
      std::vector<float> x(n_tokens * cols);
      for (auto& v : x) v = dist(rng);
      ThreadContext tc(2);
      ForEachTarget([&] {
        std::vector<std::vector<float>> many(ws.size()), one(ws.size());
        std::vector<const TensorView*> wp;
        std::vector<float*> yp;
        for (size_t i = 0; i < ws.size(); ++i) {
          many[i].assign(n_tokens * ws[i].rows, -1.0f);
          one[i].assign(n_tokens * ws[i].rows, -2.0f);
          MatMul(ws[i], x.data(), n_tokens, one[i].data(), &tc);
          wp.push_back(&ws[i]);
          yp.push_back(many[i].data());
        }
        MatMulMany(wp, x.data(), n_tokens, yp, &tc);
        for (size_t i = 0; i < ws.size(); ++i)
          CHECK(std::memcmp(many[i].data(), one[i].data(), many[i].size() * sizeof(float)) == 0);
      });
    }
  }
}

TEST_CASE("NaN and infinite activations quantize to defined values (no UB casts)",
          "[quant][hostile]") {
  // fuzz_model_load: a GoldFinch file whose weights made activations NaN reached
  // int(nearbyint(NaN)) here (UBSan: "-nan is outside the range of representable values").
  std::vector<float> x(256, 1.0f);
  x[3] = std::nanf("");
  x[7] = INFINITY;
  x[9] = -INFINITY;
  std::vector<int8_t> q(256);
  std::vector<float> d(8);
  floe::QuantizeActivationBlocksQ8K(x.data(), x.size(), q.data(), d.data());
  CHECK(q[3] == 0);
  for (int8_t v : q) CHECK((v >= -127 && v <= 127));
  std::vector<float> d32(8);
  floe::QuantizeActivationBlocks(x.data(), x.size(), q.data(), d32.data());
  CHECK(q[3] == 0);
  for (int8_t v : q) CHECK((v >= -127 && v <= 127));
}

namespace {

// llama.cpp c392e50's x86 Q4_K / Q5_K / Q6_K x Q8_K dot product (ggml_vec_dot_q{4,5,6}_K_q8_K,
// AVX2 path), written out in scalar code from its published order of operations: per block, 8 int32
// lanes where lane k sums scale x code x activation over weights 32 c + 4 k .. 32 c + 4 k + 3
// (c = 0..7, the block's runs of 32); acc[k] = fma(da x dw, lane k, acc[k]) (Q4_K also
// accm[j] = fma(-da x dwmin, m[2j] s[2j] + m[2j+1] s[2j+1], accm[j]) with s the sub-block sums of
// the activation codes; Q5_K: one scalar summs = fma(-da x dwmin, the 4 products' sum, summs),
// assuming GCC contracts llama.cpp's `summs += dmin * ...` on FMA CPUs, as -march=native lets
// it); then hsum_float_8: (acc[i] + acc[i + 4]) for i < 4, summed (0 + 2) + (1 + 3), plus
// (accm0 + accm2) + (accm1 + accm3).
float LlamaKQuantDot(DType t, const uint8_t* row, const QuantizedActivations& x) {
  float acc[8] = {}, accm[4] = {};
  for (size_t i = 0; i < x.n / 256; ++i) {
    const float da = x.d[8 * i];
    int32_t lanes[8] = {};
    const int8_t* q = x.q + 256 * i;
    if (t == DType::kQ4_K || t == DType::kQ5_K) {
      const bool q5 = t == DType::kQ5_K;
      const auto& b4 = reinterpret_cast<const BlockQ4_K*>(row)[i];
      const auto& b5 = reinterpret_cast<const BlockQ5_K*>(row)[i];
      const uint8_t* scales = q5 ? b5.scales : b4.scales;
      uint8_t sc[8], m[8];
      for (int j = 0; j < 8; ++j) Q4KScaleMin(scales, j, &sc[j], &m[j]);
      for (int e = 0; e < 256; ++e) {
        const int sb = e / 32;
        const int code = q5 ? Q5KCode(b5, e)
                            : (sb % 2 ? b4.qs[32 * (sb / 2) + e % 32] >> 4
                                      : b4.qs[32 * (sb / 2) + e % 32] & 0xF);
        lanes[(e % 32) / 4] += int32_t(sc[sb]) * code * q[e];
      }
      int32_t prod[4];
      for (int j = 0; j < 4; ++j) {
        int32_t s[2];
        for (int h = 0; h < 2; ++h)
          s[h] = x.sum16[16 * i + 4 * j + 2 * h] + x.sum16[16 * i + 4 * j + 2 * h + 1];
        prod[j] = int32_t(m[2 * j]) * s[0] + int32_t(m[2 * j + 1]) * s[1];
      }
      const uint16_t d16 = q5 ? b5.d : b4.d, dmin16 = q5 ? b5.dmin : b4.dmin;
      const float d = da * F16ToF32(d16), dmin = -da * F16ToF32(dmin16);
      for (int k = 0; k < 8; ++k) acc[k] = std::fma(d, float(lanes[k]), acc[k]);
      if (q5)  // summs += dmin x (the 4 products' exact sum), contracted to an FMA
        accm[0] = std::fma(dmin, float(prod[0] + prod[1] + prod[2] + prod[3]), accm[0]);
      else
        for (int j = 0; j < 4; ++j) accm[j] = std::fma(dmin, float(prod[j]), accm[j]);
    } else {
      const auto& b = reinterpret_cast<const BlockQ6_K*>(row)[i];
      for (int e = 0; e < 256; ++e) {
        const int half = e / 128, r = e % 128, quarter = r / 32, l = r % 32;
        const uint8_t lo = b.ql[64 * half + l + 32 * (quarter & 1)];
        const int code = ((quarter >= 2 ? lo >> 4 : lo & 0xF) |
                          (((b.qh[32 * half + l] >> (2 * quarter)) & 3) << 4)) -
                         32;
        lanes[(e % 32) / 4] += int32_t(b.scales[e / 16]) * code * q[e];
      }
      const float d = da * F16ToF32(b.d);
      for (int k = 0; k < 8; ++k) acc[k] = std::fma(d, float(lanes[k]), acc[k]);
    }
  }
  float r[4];
  for (int k = 0; k < 4; ++k) r[k] = acc[k + 4] + acc[k];
  const float sum = (r[0] + r[2]) + (r[1] + r[3]);
  return sum + ((accm[0] + accm[2]) + (accm[1] + accm[3]));
}

}  // namespace

// The AVX-512 VNNI K-quant tiles compute llama.cpp's x86 dot product bit for bit (so a Q4_K_M
// file's logits follow llama.cpp's rounding decisions): every row of MatVec and of a 7-token
// MatMul equals LlamaKQuantDot's float (Q5_K: given the FMA contraction above). Other targets sum
// in another order (only the integer sums are the same) and are held to the references in the test
// above.
TEST_CASE("Q4_K / Q5_K / Q6_K on AVX-512 VNNI: llama.cpp's x86 dot product bit for bit", "[unit]") {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  bool ran = false;
  for (const int64_t target : KernelTargets()) {
    if (std::string(KernelTargetName(target)) != "AVX3_DL") continue;
    ScopedKernelTarget scoped(target);
    ran = true;
    for (DType t : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
      INFO(DTypeName(t));
      const size_t rows = 21, cols = 768, tokens = 7;
      std::vector<uint8_t> bytes(rows * DTypeBytes(t, cols));
      for (auto& v : bytes) v = uint8_t(rng());
      const size_t bb = DTypeBlockBytes(t);
      for (size_t i = 0; i < bytes.size() / bb; ++i) {
        for (size_t off :
             t == DType::kQ6_K ? std::vector<size_t>{208} : std::vector<size_t>{0, 2}) {
          const uint16_t h = F32ToF16(0.01f + 0.09f * float(rng() % 1000) / 1000.0f);
          std::memcpy(bytes.data() + i * bb + off, &h, 2);
        }
      }
      TensorView w;
      w.dtype = t;
      w.data = bytes.data();
      w.rows = rows;
      w.cols = cols;
      std::vector<float> x(cols * tokens);
      for (auto& v : x) v = dist(rng);
      std::vector<float> y(rows), m(rows * tokens);
      MatMul(w, x.data(), tokens, m.data(), nullptr);
      size_t differ = 0;
      for (size_t tok = 0; tok < tokens; ++tok) {
        std::vector<float> storage(QuantizedActivationsFloats(cols));
        const QuantizedActivations xq = QuantizeActivations(x.data() + tok * cols, cols,
                                                            storage.data(), ActivationQuant::kQ8_K);
        MatVec(w, x.data() + tok * cols, y.data(), nullptr);
        for (size_t r = 0; r < rows; ++r) {
          const float want = LlamaKQuantDot(t, bytes.data() + r * w.row_bytes(), xq);
          differ += std::memcmp(&want, &y[r], 4) != 0;
          differ += std::memcmp(&want, &m[tok * rows + r], 4) != 0;
        }
      }
      CHECK(differ == 0);
    }
  }
  if (!ran) WARN("this CPU lacks AVX-512 VNNI: the VNNI K-quant tiles were not run");
}

// Hostile weights (a file's NaN, infinities, huge values) reach `floe quantize`: the K-quant
// searches and Q5_0 must stay defined (no float-to-int conversion of an out-of-range value; the
// UBSan build checks), and a block of finite values next to them is quantized as on its own.
TEST_CASE("K-quant and Q5_0 quantization of non-finite weights is defined", "[unit]") {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(512);
  for (auto& v : x) v = dist(rng);
  std::vector<float> bad = x;
  bad[3] = NAN;
  bad[77] = INFINITY;
  bad[140] = -INFINITY;
  bad[200] = 3e38f;
  auto check = [&](auto quantize, size_t block_bytes) {
    std::vector<uint8_t> clean(2 * block_bytes), dirty(2 * block_bytes);
    quantize(x.data(), clean.data());
    quantize(bad.data(), dirty.data());
    // The second 256 values are finite in both: same bytes.
    CHECK(std::memcmp(clean.data() + block_bytes, dirty.data() + block_bytes, block_bytes) == 0);
  };
  check(
      [](const float* v, uint8_t* o) { QuantizeRowQ4_K(v, 512, reinterpret_cast<BlockQ4_K*>(o)); },
      sizeof(BlockQ4_K));
  check(
      [](const float* v, uint8_t* o) { QuantizeRowQ5_K(v, 512, reinterpret_cast<BlockQ5_K*>(o)); },
      sizeof(BlockQ5_K));
  check(
      [](const float* v, uint8_t* o) { QuantizeRowQ6_K(v, 512, reinterpret_cast<BlockQ6_K*>(o)); },
      sizeof(BlockQ6_K));
  check(
      [](const float* v, uint8_t* o) { QuantizeRowQ5_0(v, 512, reinterpret_cast<BlockQ5_0*>(o)); },
      8 * sizeof(BlockQ5_0));
}
