// Q4_0 / Q8_0 matrices in 16-row panels (platform/quant/row_panels.h): the repacking loses
// nothing (each row converts back to its bytes, ToF32 agrees), and the panel products on every
// compiled target equal, bit for bit, a scalar loop over the ORIGINAL row-major blocks written
// here from the stated arithmetic (exact integer block sums, acc = fma(float(s), dw x da, acc) in
// block order), for decode, small batches and prefill tiles (AVX-512 VNNI, and AMX where the
// process may use it, each alone), with and without threads.
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

// Random blocks: random codes, f16 scales in [0.01, 0.1].
std::vector<uint8_t> RandomBlocks(DType t, size_t rows, size_t cols, std::mt19937& rng) {
  std::vector<uint8_t> bytes(rows * DTypeBytes(t, cols));
  for (auto& v : bytes) v = uint8_t(rng());
  const size_t bb = DTypeBlockBytes(t);
  for (size_t i = 0; i < bytes.size() / bb; ++i) {
    const uint16_t h = F32ToF16(0.01f + 0.09f * float(rng() % 1000) / 1000.0f);
    std::memcpy(bytes.data() + i * bb, &h, 2);
  }
  return bytes;
}

// The panel arithmetic from row-major blocks, one (row, token) at a time.
float ExpectedDot(DType t, const uint8_t* row, size_t cols, const QuantizedActivations& x) {
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
  for (DType t : {DType::kQ4_0, DType::kQ8_0}) {
    const size_t rows = 48, cols = 96;
    INFO(DTypeName(t));
    std::vector<uint8_t> orig = RandomBlocks(t, rows, cols, rng);
    TensorView w{t, orig.data(), rows, cols};
    REQUIRE(CanRepackRowPanels(t, rows, cols));
    CHECK_FALSE(CanRepackRowPanels(t, 40, cols));  // not whole panels
    CHECK_FALSE(CanRepackRowPanels(DType::kQ4_K, rows, 256));
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
    ToF32(w, 17 * cols + 32, 64, a.data());  // a block-aligned slice inside a row
    ToF32(p, 17 * cols + 32, 64, b.data());
    CHECK(std::memcmp(a.data(), b.data(), 64 * sizeof(float)) == 0);
  }
}

TEST_CASE("row panels: products equal the stated arithmetic bit for bit on every target",
          "[unit]") {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  ThreadContext two(2);
  for (DType t : {DType::kQ4_0, DType::kQ8_0}) {
    // 80 rows: a 4-panel decode tile and one panel left; 48: 2-panel prefill tiles and none.
    for (size_t rows : {80, 48, 16})
      for (size_t cols : {32, 256, 1056}) {
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
          const QuantizedActivations xq = QuantizeActivations(
              x.data() + tok * cols, cols, storage.data(), ActivationQuant::kQ8_0);
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
