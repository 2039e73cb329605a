// Q4_0 / Q8_0 / Q4_K / Q6_K matrices in 16-row panels (platform/quant/row_panels.h): the repacking
// loses nothing (each row converts back to its bytes, ToF32 agrees), and the panel products on
// every compiled target equal, bit for bit, a scalar loop over the ORIGINAL row-major blocks
// written here from the stated arithmetic (exact integer block sums, acc = fma(float(s), dw x da,
// acc) in block order; K-quants with their sub-block scales and mins), for decode, small batches
// and prefill tiles (AVX-512 VNNI, and AMX where the process may use it, each alone), with and
// without threads.
#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "platform/base/tensor.h"
#include "platform/base/thread_context.h"
#include "platform/kernels/amx.h"
#include "platform/kernels/kernel_targets.h"
#include "platform/kernels/ops.h"
#include "platform/quant/quant.h"
#include "platform/quant/row_panels.h"

using namespace floe;

namespace {

// Random blocks: random codes and sub-block scales, f16 scales (and Q4_K's dmin) in
// [0.01, 0.1].
std::vector<uint8_t> RandomBlocks(DType t, size_t rows, size_t cols, std::mt19937& rng) {
  std::vector<uint8_t> bytes(rows * DTypeBytes(t, cols));
  for (auto& v : bytes) v = uint8_t(rng());
  const size_t bb = DTypeBlockBytes(t);
  std::vector<size_t> scales = {0};  // byte offsets of the f16 scales in a block
  if (t == DType::kQ4_K) scales = {0, 2};
  if (t == DType::kQ6_K) scales = {208};
  for (size_t i = 0; i < bytes.size() / bb; ++i)
    for (size_t at : scales) {
      const uint16_t h = F32ToF16(0.01f + 0.09f * float(rng() % 1000) / 1000.0f);
      std::memcpy(bytes.data() + i * bb + at, &h, 2);
    }
  return bytes;
}

// Q4_K and Q6_K: the panel arithmetic from one row's row-major blocks.
float ExpectedKDot(DType t, const uint8_t* row, size_t cols, const QuantizedActivations& x) {
  float acc = 0.0f;
  for (size_t b = 0; b < cols / 256; ++b) {
    const int8_t* a = x.q + 256 * b;
    const float da = x.d[8 * b];
    int32_t isum = 0;
    if (t == DType::kQ4_K) {
      const auto* blk = reinterpret_cast<const BlockQ4_K*>(row) + b;
      int32_t msum = 0;
      for (int j = 0; j < 8; ++j) {
        int32_t s = 0, sum = 0;
        for (int l = 0; l < 32; ++l) {
          const uint8_t q = blk->qs[32 * (j / 2) + l];
          s += int32_t(j % 2 ? q >> 4 : q & 15) * a[32 * j + l];
          sum += a[32 * j + l];
        }
        uint8_t sc, m;
        Q4KScaleMin(blk->scales, j, &sc, &m);
        isum += sc * s;
        msum += m * sum;
      }
      acc = std::fma(float(isum), F16ToF32(blk->d) * da, acc);
      acc = std::fma(float(msum), -(F16ToF32(blk->dmin) * da), acc);
    } else {
      const auto* blk = reinterpret_cast<const BlockQ6_K*>(row) + b;
      float codes[256];  // the 6-bit codes, from the dequantized values (d = 1, scales = 1)
      BlockQ6_K unit = *blk;
      unit.d = F32ToF16(1.0f);
      for (auto& sc : unit.scales) sc = 1;
      DequantizeRow(DType::kQ6_K, &unit, 256, codes);  // codes - 32
      for (int g = 0; g < 16; ++g) {
        int32_t s = 0;
        for (int l = 0; l < 16; ++l) s += int32_t(codes[16 * g + l]) * a[16 * g + l];
        isum += blk->scales[g] * s;
      }
      acc = std::fma(float(isum), F16ToF32(blk->d) * da, acc);
    }
  }
  return acc;
}

// The panel arithmetic from row-major blocks, one (row, token) at a time.
float ExpectedDot(DType t, const uint8_t* row, size_t cols, const QuantizedActivations& x) {
  if (t == DType::kQ4_K || t == DType::kQ6_K) return ExpectedKDot(t, row, cols, x);
  float acc = 0.0f;
  for (size_t b = 0; b < cols / 32; ++b) {
    int32_t s = 0;
    uint16_t d;
    if (t == DType::kQ4_0) {
      const auto* blk = reinterpret_cast<const BlockQ4_0*>(row) + b;
      for (size_t j = 0; j < 16; ++j) {
        s += (int32_t(blk->qs[j] & 15) - 8) * x.q[32 * b + j];
        s += (int32_t(blk->qs[j] >> 4) - 8) * x.q[32 * b + 16 + j];
      }
      d = blk->d;
    } else {
      const auto* blk = reinterpret_cast<const BlockQ8_0*>(row) + b;
      for (size_t j = 0; j < 32; ++j) s += int32_t(blk->qs[j]) * x.q[32 * b + j];
      d = blk->d;
    }
    acc = std::fma(float(s), F16ToF32(d) * x.d[b], acc);
  }
  return acc;
}

}  // namespace

TEST_CASE("row panels: repacking is lossless and ToF32 reads it", "[unit]") {
  std::mt19937 rng(5);
  for (DType t : {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K}) {
    const size_t rows = 48, cols = 3 * DTypeBlockElems(t);
    INFO(DTypeName(t));
    std::vector<uint8_t> orig = RandomBlocks(t, rows, cols, rng);
    TensorView w{t, orig.data(), rows, cols};
    REQUIRE(CanRepackRowPanels(t, rows, cols));
    CHECK_FALSE(CanRepackRowPanels(t, 40, cols));  // not whole panels
    CHECK_FALSE(CanRepackRowPanels(t, rows, cols + 16));  // not whole blocks
    CHECK_FALSE(CanRepackRowPanels(DType::kQ5_K, rows, 256));
    std::vector<uint8_t> packed(orig.size(), 0);
    RepackRowPanels(w, 0, rows / kPanelRows, packed.data());
    CHECK(packed != orig);  // the order did change
    TensorView p{RowPanelsTypeOf(t), packed.data(), rows, cols};
    std::vector<uint8_t> row(w.row_bytes());
    std::vector<float> a(cols), b(cols);
    for (size_t r = 0; r < rows; ++r) {
      RowPanelsRowToBlocks(p, r, row.data());
      CHECK(std::memcmp(row.data(), w.row(r), row.size()) == 0);
      ToF32(w, r * cols, cols, a.data());
      ToF32(p, r * cols, cols, b.data());
      CHECK(a == b);
    }
    const size_t be = DTypeBlockElems(t);  // a block-aligned slice inside a row
    ToF32(w, 17 * cols + be, 2 * be, a.data());
    ToF32(p, 17 * cols + be, 2 * be, b.data());
    CHECK(std::memcmp(a.data(), b.data(), 2 * be * sizeof(float)) == 0);
  }
}

TEST_CASE("row panels: products equal the stated arithmetic bit for bit on every target",
          "[unit]") {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  ThreadContext two(2);
  for (DType t : {DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K}) {
    const bool k_quant = DTypeBlockElems(t) == 256;
    // 80 rows: a 4-panel decode tile and one panel left; 48: 2-panel prefill tiles and none.
    // K-quants: 9 blocks are two AMX passes of 4 and one of 1.
    for (size_t rows : {80, 48, 16})
      for (size_t cols :
           k_quant ? std::vector<size_t>{256, 2304} : std::vector<size_t>{32, 256, 1056}) {
        INFO(DTypeName(t) << " " << rows << "x" << cols);
        std::vector<uint8_t> orig = RandomBlocks(t, rows, cols, rng);
        TensorView w{t, orig.data(), rows, cols};
        std::vector<uint8_t> packed(orig.size());
        RepackRowPanels(w, 0, rows / kPanelRows, packed.data());
        TensorView p{RowPanelsTypeOf(t), packed.data(), rows, cols};
        const size_t big = 43;  // 4-token tiles and a 3-token edge, over 32-token tasks
        std::vector<float> x(big * cols);
        for (auto& v : x) v = dist(rng);
        std::vector<float> expected(big * rows);
        std::vector<float> storage(QuantizedActivationsFloats(cols));
        for (size_t tok = 0; tok < big; ++tok) {
          const QuantizedActivations xq = QuantizeActivations(x.data() + tok * cols, cols,
                                                              storage.data(), ActivationQuantOf(t));
          for (size_t r = 0; r < rows; ++r)
            expected[tok * rows + r] = ExpectedDot(t, w.row(r), cols, xq);
        }
        for (const int64_t target : KernelTargets())
          for (bool amx : {true, false}) {
            if (amx && !AmxInt8Usable()) continue;
            ScopedKernelTarget scoped(target);
            std::optional<ScopedAmxOff> amx_off;
            if (!amx) amx_off.emplace();
            INFO("target " << KernelTargetName(target) << (amx ? " with AMX" : ""));
            CHECK(MatMulQuantizesActivations(p.dtype, big));
            for (ThreadContext* tc : {static_cast<ThreadContext*>(nullptr), &two}) {
              std::vector<float> y(rows), m(big * rows), small(3 * rows);
              size_t bad = 0;
              for (size_t tok = 0; tok < big; ++tok) {
                MatVec(p, x.data() + tok * cols, y.data(), tc);
                bad += std::memcmp(y.data(), expected.data() + tok * rows, rows * 4) != 0;
              }
              MatMul(p, x.data(), big, m.data(), tc);
              MatMul(p, x.data(), 3, small.data(), tc);
              CHECK(bad == 0);
              CHECK(std::memcmp(m.data(), expected.data(), m.size() * 4) == 0);
              CHECK(std::memcmp(small.data(), expected.data(), small.size() * 4) == 0);
            }
          }
      }
  }
}
