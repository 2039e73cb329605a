// Kernels (platform/kernels/ops.h) against their scalar references, on every Highway target that
// is compiled in and supported by this CPU; the references against hand-computed values.
//
// Tolerances (FLT_EPSILON = 2^-23):
//  - sums (Dot, MatVec, MatMul): |y - ref| <= 2 * FLT_EPSILON * sqrt(n) * sum_i |a_i * b_i|.
//    The reference accumulates in double, the kernels in float with one chain per lane.
//  - Axpy: |y - ref| <= FLT_EPSILON * (|y0| + |alpha * x|) (one fused or two rounded ops).
//  - Scale, Add: exact (one float operation, same as the reference).
//  - RmsNorm: relative 1e-5 (float sum of squares, then two multiplies).
//  - Softmax: relative (8 + 2 sqrt(n)) * FLT_EPSILON (Highway Exp ~1 ulp, float sum of n terms).
//  - Silu / SwiGlu: relative 8 * FLT_EPSILON, absolute 1e-35 (exp argument clamped at 88).
//  - RoPE: |out - ref| <= 4 * FLT_EPSILON * (|x0| + |x1|) per pair (angles are bit-identical,
//    only the rotation's rounding/FMA differs).
//  - Argmax: exact. MatVec vs MatMul, 1 vs 2 threads: bit-identical.
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "platform/base/dtype.h"
#include "kernel_targets_util.h"
#include "platform/kernels/bf16_dot.h"
#include "platform/kernels/kernel_targets.h"
#include "platform/kernels/ops.h"
#include "platform/kernels/reference.h"
#include "platform/base/tensor.h"
#include "platform/base/thread_context.h"

using namespace floe;

namespace {

const size_t kSizes[] = {1, 3, 7, 16, 17, 63, 64, 65, 255, 1000, 4099};

std::vector<float> RandomFloats(std::mt19937& rng, size_t n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<uint16_t> RandomHalves(std::mt19937& rng, size_t n) {
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = F32ToF16(std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng));
  return v;
}

// A rows x cols weight matrix of the given dtype, uniform in [-1, 1] (rounded to the dtype).
struct Weights {
  std::vector<float> f32;
  std::vector<uint16_t> u16;
  TensorView view;
};

Weights RandomWeights(std::mt19937& rng, DType dtype, size_t rows, size_t cols) {
  Weights w;
  const std::vector<float> v = RandomFloats(rng, rows * cols);
  w.view.dtype = dtype;
  w.view.rows = rows;
  w.view.cols = cols;
  if (dtype == DType::kF32) {
    w.f32 = v;
    w.view.data = w.f32.data();
  } else {
    w.u16.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i)
      w.u16[i] = dtype == DType::kF16 ? F32ToF16(v[i]) : F32ToBF16(v[i]);
    w.view.data = w.u16.data();
  }
  return w;
}

double SumTol(size_t n, double abs_sum) {
  return 2.0 * FLT_EPSILON * std::sqrt(static_cast<double>(n)) * abs_sum + 1e-30;
}

// sum_c |W[r][c] * x[c]| for the tolerance of row r.
double AbsRowSum(const TensorView& w, size_t r, const float* x) {
  double s = 0.0;
  for (size_t c = 0; c < w.cols; ++c) s += std::fabs(double(reference::WeightAt(w, r, c)) * x[c]);
  return s;
}

bool SameBits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

const DType kDTypes[] = {DType::kF32, DType::kF16, DType::kBF16};

}  // namespace

TEST_CASE("kernel targets: listed best first, and forcing one redirects dispatch", "[unit]") {
  const std::vector<int64_t> targets = KernelTargets();
  REQUIRE(!targets.empty());
  std::string names;
  for (const int64_t t : targets) names += std::string(" ") + KernelTargetName(t);
  std::printf("kernels_test: targets tested:%s\n", names.c_str());
  for (size_t i = 1; i < targets.size(); ++i) CHECK(targets[i - 1] < targets[i]);
  CHECK(DispatchedKernelTarget() == targets.front());  // best target by default
  for (const int64_t t : targets) {
    {
      ScopedKernelTarget scoped(t);
      CHECK(DispatchedKernelTarget() == t);
    }
    CHECK(DispatchedKernelTarget() == targets.front());  // restored
  }
}

TEST_CASE("reference kernels match hand-computed values", "[unit]") {
  // Each check runs on the reference and then on every SIMD target.
  auto check_all = [](auto&& body) {
    body(true);
    ForEachTarget([&] { body(false); });
  };
  check_all([](bool ref) {
    float x[] = {1.0f, 2.0f, 3.0f};
    ref ? reference::Softmax(x, 3) : Softmax(x, 3);
    CHECK(x[0] == Approx(0.09003057).epsilon(1e-6));
    CHECK(x[1] == Approx(0.24472847).epsilon(1e-6));
    CHECK(x[2] == Approx(0.66524096).epsilon(1e-6));
  });
  check_all([](bool ref) {
    const float x[] = {3.0f, 4.0f};
    const float w[] = {2.0f, 0.5f};
    float out[2];
    ref ? reference::RmsNorm(x, w, 2, 0.0f, out) : RmsNorm(x, w, 2, 0.0f, out);
    // rms = sqrt((9 + 16) / 2) = 3.5355339
    CHECK(out[0] == Approx(2.0 * 3.0 / 3.5355339059).epsilon(1e-6));
    CHECK(out[1] == Approx(0.5 * 4.0 / 3.5355339059).epsilon(1e-6));
  });
  check_all([](bool ref) {
    // One head of 4 dims, pos 1, base 10000: pair 0 turns by 1 rad, pair 1 by 10000^-0.5 = 0.01.
    float x[] = {1.0f, 0.0f, 0.0f, 1.0f};
    ref ? reference::RopeInterleaved(x, 1, 4, 4, 1, 10000.0f)
        : RopeInterleaved(x, 1, 4, 4, 1, 10000.0f);
    CHECK(x[0] == Approx(std::cos(1.0)).epsilon(1e-6));
    CHECK(x[1] == Approx(std::sin(1.0)).epsilon(1e-6));
    CHECK(x[2] == Approx(-std::sin(0.01)).epsilon(1e-5));
    CHECK(x[3] == Approx(std::cos(0.01)).epsilon(1e-6));
    // NeoX pairs are (x0, x2) and (x1, x3).
    float y[] = {1.0f, 1.0f, 0.0f, 0.0f};
    ref ? reference::RopeHalfSplit(y, 1, 4, 4, 1, 10000.0f)
        : RopeHalfSplit(y, 1, 4, 4, 1, 10000.0f);
    CHECK(y[0] == Approx(std::cos(1.0)).epsilon(1e-6));
    CHECK(y[1] == Approx(std::cos(0.01)).epsilon(1e-6));
    CHECK(y[2] == Approx(std::sin(1.0)).epsilon(1e-6));
    CHECK(y[3] == Approx(std::sin(0.01)).epsilon(1e-5));
    // pos 0 is the identity.
    float z[] = {0.25f, -0.5f, 2.0f, 8.0f};
    ref ? reference::RopeInterleaved(z, 1, 4, 4, 0, 10000.0f)
        : RopeInterleaved(z, 1, 4, 4, 0, 10000.0f);
    CHECK(z[0] == 0.25f);
    CHECK(z[1] == -0.5f);
    CHECK(z[2] == 2.0f);
    CHECK(z[3] == 8.0f);
  });
  check_all([](bool ref) {
    float x[] = {0.0f, 1.0f, -1.0f, 30.0f};
    ref ? reference::Silu(x, 4) : Silu(x, 4);
    CHECK(x[0] == 0.0f);
    CHECK(x[1] == Approx(0.7310585786).epsilon(1e-6));
    CHECK(x[2] == Approx(-0.2689414214).epsilon(1e-6));
    CHECK(x[3] == Approx(30.0).epsilon(1e-6));
    float g[] = {1.0f, 2.0f};
    const float u[] = {2.0f, -1.0f};
    ref ? reference::SwiGlu(g, u, 2) : SwiGlu(g, u, 2);
    CHECK(g[0] == Approx(2.0 * 0.7310585786).epsilon(1e-6));
    CHECK(g[1] == Approx(-2.0 / (1.0 + std::exp(-2.0))).epsilon(1e-6));
  });
  check_all([](bool ref) {
    const float a[] = {1, 2, 3};
    const float b[] = {4, 5, 6};
    CHECK((ref ? reference::Dot(a, b, 3) : Dot(a, b, 3)) == 32.0f);
    const uint16_t bh[] = {F32ToF16(4), F32ToF16(5), F32ToF16(-6)};
    CHECK((ref ? reference::DotF16(a, bh, 3) : DotF16(a, bh, 3)) == -4.0f);
    float y[] = {1, 1, 1};
    ref ? reference::Axpy(2.0f, a, y, 3) : Axpy(2.0f, a, y, 3);
    CHECK((y[0] == 3 && y[1] == 5 && y[2] == 7));
    ref ? reference::AxpyF16(-1.0f, bh, y, 3) : AxpyF16(-1.0f, bh, y, 3);
    CHECK((y[0] == -1 && y[1] == 0 && y[2] == 13));
    ref ? reference::Scale(y, 0.5f, 3) : Scale(y, 0.5f, 3);
    CHECK((y[0] == -0.5f && y[1] == 0 && y[2] == 6.5f));
    ref ? reference::Add(a, y, 3) : Add(a, y, 3);
    CHECK((y[0] == 0.5f && y[1] == 2 && y[2] == 9.5f));
  });
  check_all([](bool ref) {
    auto argmax = [&](std::vector<float> v) {
      return ref ? reference::Argmax(v.data(), v.size()) : Argmax(v.data(), v.size());
    };
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const float inf = std::numeric_limits<float>::infinity();
    CHECK(argmax({1, 3, 3, 2}) == 1);  // ties -> lowest index
    CHECK(argmax({5}) == 0);
    CHECK(argmax({2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}) == 0);
    CHECK(argmax({-inf, -inf, -inf}) == 0);
    CHECK(argmax({-inf, -1e30f, -inf}) == 1);
    CHECK(argmax({1, nan, 3, nan}) == 2);  // NaN is never the max...
    CHECK(argmax({nan, 1, 3}) == 0);       // ...unless it is first (scalar loop rule)
    CHECK(argmax({-0.0f, 0.0f}) == 0);     // +0 == -0: a tie
    std::vector<float> v(1000, 0.0f);
    v[999] = 1.0f;  // in the tail for every lane count
    CHECK(argmax(v) == 999);
    v[17] = 1.0f;  // earlier tie in another vector
    CHECK(argmax(v) == 17);
  });
  check_all([](bool ref) {
    // W = [[1, 2], [3, 4], [5, 6]], x = [1, -1] -> [-1, -1, -1], exact in every dtype.
    const float wf[] = {1, 2, 3, 4, 5, 6};
    for (const DType dt : kDTypes) {
      std::vector<uint16_t> wh(6);
      for (int i = 0; i < 6; ++i) wh[i] = dt == DType::kF16 ? F32ToF16(wf[i]) : F32ToBF16(wf[i]);
      TensorView w{dt, dt == DType::kF32 ? static_cast<const void*>(wf) : wh.data(), 3, 2};
      const float x[] = {1, -1, 2, 0};  // two tokens
      float y[6] = {};
      ref ? reference::MatVec(w, x, y) : MatVec(w, x, y, nullptr);
      CHECK((y[0] == -1 && y[1] == -1 && y[2] == -1));
      ref ? reference::MatMul(w, x, 2, y) : MatMul(w, x, 2, y, nullptr);
      CHECK((y[0] == -1 && y[1] == -1 && y[2] == -1 && y[3] == 2 && y[4] == 6 && y[5] == 10));
    }
  });
}

TEST_CASE("half and bfloat16 conversions: edge cases", "[unit]") {
  auto bits = [](float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
  };
  CHECK(bits(F16ToF32(0x0000)) == 0x00000000u);
  CHECK(bits(F16ToF32(0x8000)) == 0x80000000u);         // -0
  CHECK(F16ToF32(0x0001) == std::ldexp(1.0f, -24));     // smallest subnormal
  CHECK(F16ToF32(0x03FF) == std::ldexp(1023.0f, -24));  // largest subnormal
  CHECK(F16ToF32(0x0400) == std::ldexp(1.0f, -14));     // smallest normal
  CHECK(F16ToF32(0x3C00) == 1.0f);
  CHECK(F16ToF32(0xC000) == -2.0f);
  CHECK(F16ToF32(0x7BFF) == 65504.0f);
  CHECK(F16ToF32(0x7C00) == std::numeric_limits<float>::infinity());
  CHECK(F16ToF32(0xFC00) == -std::numeric_limits<float>::infinity());
  CHECK(std::isnan(F16ToF32(0x7E00)));
  CHECK(std::isnan(F16ToF32(0x7C01)));

  CHECK(F32ToF16(65504.0f) == 0x7BFF);
  CHECK(F32ToF16(65519.0f) == 0x7BFF);  // below the rounding midpoint 65520
  CHECK(F32ToF16(65520.0f) == 0x7C00);  // rounds to Inf
  CHECK(F32ToF16(1e10f) == 0x7C00);
  CHECK(F32ToF16(-std::numeric_limits<float>::infinity()) == 0xFC00);
  CHECK((F32ToF16(std::numeric_limits<float>::quiet_NaN()) & 0x7FFF) > 0x7C00);
  CHECK(F32ToF16(-0.0f) == 0x8000);
  CHECK(F32ToF16(std::ldexp(1.0f, -24)) == 0x0001);
  CHECK(F32ToF16(std::ldexp(1.0f, -25)) == 0x0000);  // tie -> even (zero)
  CHECK(F32ToF16(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(F32ToF16(std::ldexp(3.0f, -25)) == 0x0002);  // 1.5 ulp: tie -> even
  CHECK(F32ToF16(1e-8f) == 0x0000);
  CHECK(F32ToF16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);      // tie -> even
  CHECK(F32ToF16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);  // tie -> even
  CHECK(F32ToF16(std::ldexp(1.0f, -14)) == 0x0400);
  CHECK(F32ToF16(std::ldexp(1023.0f, -24)) == 0x03FF);
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = F16ToF32(static_cast<uint16_t>(h));
    if (!std::isnan(f) && F32ToF16(f) != h) FAIL("half round trip fails for 0x" << std::hex << h);
  }

  CHECK(F32ToBF16(1.0f) == 0x3F80);
  CHECK(BF16ToF32(0x3F80) == 1.0f);
  CHECK(F32ToBF16(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);      // tie -> even
  CHECK(F32ToBF16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3F82);  // tie -> even
  CHECK(std::isnan(BF16ToF32(F32ToBF16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(std::isnan(BF16ToF32(F32ToBF16(std::numeric_limits<float>::signaling_NaN()))));
  CHECK(F32ToBF16(std::numeric_limits<float>::infinity()) == 0x7F80);

  // The SIMD widening of every 16-bit pattern, on every target, equals the scalar conversion
  // (Inf, NaN, subnormals and -0 included).
  std::vector<uint16_t> all(0x10000);
  for (uint32_t h = 0; h < 0x10000; ++h) all[h] = static_cast<uint16_t>(h);
  ForEachTarget([&] {
    std::vector<float> y(all.size(), -0.0f);
    AxpyF16(1.0f, all.data(), y.data(), all.size());  // -0 + 1 * h == h exactly
    size_t bad = 0;
    for (uint32_t h = 0; h < 0x10000; ++h) {
      const float want = F16ToF32(static_cast<uint16_t>(h));
      if (std::isnan(want) ? !std::isnan(y[h]) : !SameBits(y[h], want)) ++bad;
    }
    CHECK(bad == 0);
    // Through MatVec/MatMul's weight loads: column 0 of a 65536 x 17 matrix, x = e_0.
    for (const DType dt : {DType::kF16, DType::kBF16}) {
      INFO(DTypeName(dt));
      const size_t cols = 17;
      std::vector<uint16_t> w(all.size() * cols, 0);
      for (size_t r = 0; r < all.size(); ++r) w[r * cols] = all[r];
      const TensorView tv{dt, w.data(), all.size(), cols};
      std::vector<float> x(2 * cols, 0.0f);
      x[0] = x[cols] = 1.0f;
      std::vector<float> out(2 * all.size());
      MatMul(tv, x.data(), 2, out.data(), nullptr);
      // vdpbf16ps reads subnormal bf16 as zero (bf16_dot-inl.h).
      const bool daz = MatMulRoundsActivationsToBf16(dt);
      size_t bad_mm = 0;
      for (size_t t = 0; t < 2; ++t) {
        for (uint32_t h = 0; h < 0x10000; ++h) {
          float want = dt == DType::kF16 ? F16ToF32(all[h]) : BF16ToF32(all[h]);
          if (daz && std::fpclassify(want) == FP_SUBNORMAL) want = 0.0f;
          const float got = out[t * all.size() + h];
          if (std::isnan(want) ? !std::isnan(got) : got != want) ++bad_mm;
        }
      }
      CHECK(bad_mm == 0);
    }
  });
}

// The activations a kernel multiplies: rounded to bf16 where MatMul takes bf16 activations for
// `dt` on the running target (ops.h), else x itself.
std::vector<float> KernelActivations(DType dt, const float* x, size_t n) {
  std::vector<float> out(x, x + n);
  if (MatMulRoundsActivationsToBf16(dt))
    for (float& v : out) v = BF16ToF32(F32ToBF16(v));
  return out;
}

// MatMul of w by `tokens` rows of x on the running target: within the float sum bound of the
// reference on the activations the target multiplies (KernelActivations), and equal to MatVec of
// each row bit for bit.
void CheckMatMulOnThisTarget(const Weights& w, const std::vector<float>& x, size_t tokens) {
  const size_t rows = w.view.rows, cols = w.view.cols;
  const std::vector<float> xk = KernelActivations(w.view.dtype, x.data(), x.size());
  std::vector<float> want(tokens * rows), y(tokens * rows, 12345.0f), yv(rows);
  reference::MatMul(w.view, xk.data(), tokens, want.data());
  MatMul(w.view, x.data(), tokens, y.data(), nullptr);
  size_t bad = 0, not_same_as_matvec = 0;
  for (size_t t = 0; t < tokens; ++t) {
    MatVec(w.view, x.data() + t * cols, yv.data(), nullptr);
    for (size_t r = 0; r < rows; ++r) {
      bad += !(std::fabs(double(y[t * rows + r]) - want[t * rows + r]) <=
               SumTol(cols, AbsRowSum(w.view, r, xk.data() + t * cols)));
      not_same_as_matvec += !SameBits(y[t * rows + r], yv[r]);
    }
  }
  CHECK(bad == 0);
  CHECK(not_same_as_matvec == 0);
}

TEST_CASE("MatVec matches the reference on every target, F32/F16/BF16", "[unit]") {
  std::mt19937 rng(1);
  for (const DType dt : kDTypes) {
    for (const size_t cols : kSizes) {
      for (const size_t rows : {size_t{1}, size_t{3}, size_t{13}, size_t{23}}) {
        INFO(DTypeName(dt) << " rows " << rows << " cols " << cols);
        const Weights w = RandomWeights(rng, dt, rows, cols);
        const std::vector<float> x = RandomFloats(rng, cols);
        ForEachTarget([&] {
          const std::vector<float> xk = KernelActivations(dt, x.data(), cols);
          std::vector<float> want(rows);
          reference::MatVec(w.view, xk.data(), want.data());
          std::vector<float> y(rows, 12345.0f);
          MatVec(w.view, x.data(), y.data(), nullptr);
          for (size_t r = 0; r < rows; ++r) {
            INFO("row " << r);
            CHECK(std::fabs(double(y[r]) - want[r]) <=
                  SumTol(cols, AbsRowSum(w.view, r, xk.data())));
          }
        });
      }
    }
  }
}

TEST_CASE("MatMul matches the reference and MatVec (bit for bit) on every target", "[unit]") {
  std::mt19937 rng(2);
  struct Shape {
    size_t rows, cols, tokens;
  };
  std::vector<Shape> shapes;
  for (const size_t cols : kSizes) {
    for (const size_t tokens : {size_t{1}, size_t{2}, size_t{5}, size_t{9}}) {
      shapes.push_back({tokens % 2 ? size_t{7} : size_t{13}, cols, tokens});
    }
  }
  shapes.push_back({21, 300, 16});  // the largest small batch (rows outer, registers)
  shapes.push_back({21, 300, 17});  // the smallest batch that takes the panels
  shapes.push_back({70, 300, 37});  // several row tiles and token groups
  shapes.push_back({5, 1500, 33});  // several column chunks, ragged tiles everywhere
  for (const DType dt : kDTypes) {
    for (const Shape& s : shapes) {
      INFO(DTypeName(dt) << " rows " << s.rows << " cols " << s.cols << " tokens " << s.tokens);
      const Weights w = RandomWeights(rng, dt, s.rows, s.cols);
      const std::vector<float> x = RandomFloats(rng, s.tokens * s.cols);
      ForEachTarget([&] { CheckMatMulOnThisTarget(w, x, s.tokens); });
    }
  }
}

TEST_CASE("BF16 weights: bf16 products when asked for on AVX512-BF16, float ones otherwise",
          "[unit]") {
  CHECK_FALSE(MatMulRoundsActivationsToBf16(DType::kF16));
  std::mt19937 rng(7);
  for (const bool asked : {true, false}) {
    ScopedBf16Dot scope(asked);
    INFO("bf16 products asked for: " << asked);
    if (asked && __builtin_cpu_supports("avx512bf16")) {
      INFO("this CPU has AVX512-BF16: its best target must take the bf16 products");
      CHECK(MatMulRoundsActivationsToBf16(DType::kBF16));
    }
    for (const auto& [rows, cols, tokens] : {std::tuple<size_t, size_t, size_t>{70, 301, 37},
                                             {13, 64, 1},
                                             {9, 1000, 5},
                                             {21, 33, 17}}) {
      INFO("rows " << rows << " cols " << cols << " tokens " << tokens);
      const Weights w = RandomWeights(rng, DType::kBF16, rows, cols);
      const std::vector<float> x = RandomFloats(rng, tokens * cols);
      ForEachTarget([&] {
        if (!asked) REQUIRE_FALSE(MatMulRoundsActivationsToBf16(DType::kBF16));
        CheckMatMulOnThisTarget(w, x, tokens);
      });
    }
  }
}

TEST_CASE("MatVec and MatMul give the same bits with 2 threads as with 1", "[unit]") {
  std::mt19937 rng(3);
  ThreadContext tc(2);
  REQUIRE(tc.num_threads() == 2);
  for (const DType dt : kDTypes) {
    INFO(DTypeName(dt));
    const size_t rows = 515, cols = 300, tokens = 37;
    const Weights w = RandomWeights(rng, dt, rows, cols);
    const std::vector<float> x = RandomFloats(rng, tokens * cols);
    ForEachTarget([&] {
      std::vector<float> y1(rows), y2(rows);
      MatVec(w.view, x.data(), y1.data(), nullptr);
      MatVec(w.view, x.data(), y2.data(), &tc);
      CHECK(std::memcmp(y1.data(), y2.data(), rows * sizeof(float)) == 0);
      std::vector<float> m1(tokens * rows), m2(tokens * rows);
      MatMul(w.view, x.data(), tokens, m1.data(), nullptr);
      MatMul(w.view, x.data(), tokens, m2.data(), &tc);
      CHECK(std::memcmp(m1.data(), m2.data(), m1.size() * sizeof(float)) == 0);
    });
  }
}

TEST_CASE("Dot, DotF16, Axpy, AxpyF16, Scale, Add match the reference on every target", "[unit]") {
  std::mt19937 rng(4);
  for (const size_t n : kSizes) {
    INFO("n " << n);
    const std::vector<float> a = RandomFloats(rng, n), b = RandomFloats(rng, n),
                             y0 = RandomFloats(rng, n);
    const std::vector<uint16_t> h = RandomHalves(rng, n);
    const float alpha = 0.75f;
    double abs_ab = 0, abs_ah = 0;
    for (size_t i = 0; i < n; ++i) {
      abs_ab += std::fabs(double(a[i]) * b[i]);
      abs_ah += std::fabs(double(a[i]) * F16ToF32(h[i]));
    }
    const float dot = reference::Dot(a.data(), b.data(), n);
    const float doth = reference::DotF16(a.data(), h.data(), n);
    std::vector<float> axpy = y0, axpyh = y0, scaled = a, added = y0;
    reference::Axpy(alpha, b.data(), axpy.data(), n);
    reference::AxpyF16(alpha, h.data(), axpyh.data(), n);
    reference::Scale(scaled.data(), -1.5f, n);
    reference::Add(a.data(), added.data(), n);
    ForEachTarget([&] {
      CHECK(std::fabs(double(Dot(a.data(), b.data(), n)) - dot) <= SumTol(n, abs_ab));
      CHECK(std::fabs(double(DotF16(a.data(), h.data(), n)) - doth) <= SumTol(n, abs_ah));
      std::vector<float> y = y0, yh = y0, s = a, ad = y0;
      Axpy(alpha, b.data(), y.data(), n);
      AxpyF16(alpha, h.data(), yh.data(), n);
      Scale(s.data(), -1.5f, n);
      Add(a.data(), ad.data(), n);
      size_t bad = 0;
      for (size_t i = 0; i < n; ++i) {
        if (std::fabs(y[i] - axpy[i]) > FLT_EPSILON * (std::fabs(y0[i]) + std::fabs(alpha * b[i])))
          ++bad;
        if (std::fabs(yh[i] - axpyh[i]) >
            FLT_EPSILON * (std::fabs(y0[i]) + std::fabs(alpha * F16ToF32(h[i]))))
          ++bad;
        if (!SameBits(s[i], scaled[i])) ++bad;
        if (!SameBits(ad[i], added[i])) ++bad;
      }
      CHECK(bad == 0);
    });
  }
}

TEST_CASE("RmsNorm, Softmax, Silu, SwiGlu, Argmax match the reference on every target", "[unit]") {
  std::mt19937 rng(5);
  for (const size_t n : kSizes) {
    INFO("n " << n);
    const std::vector<float> x = RandomFloats(rng, n, -4.0f, 4.0f);
    const std::vector<float> w = RandomFloats(rng, n, 0.5f, 1.5f);
    std::vector<float> act = RandomFloats(rng, n, -20.0f, 20.0f);
    // Extremes for the exp clamp and saturation.
    const float extremes[] = {-100.0f, -88.5f, -87.0f, 0.0f, 89.0f, 100.0f, -1e-7f};
    for (size_t i = 0; i < n && i < 7; ++i) act[(i * 31) % n] = extremes[i];
    const std::vector<float> up = RandomFloats(rng, n, -2.0f, 2.0f);
    std::vector<float> logits = RandomFloats(rng, n, -10.0f, 10.0f);
    if (n > 5) logits[n - 2] = logits[n / 3] = 11.0f;  // tie

    std::vector<float> norm(n), soft = logits, silu = act, swiglu = act;
    reference::RmsNorm(x.data(), w.data(), n, 1e-5f, norm.data());
    reference::Softmax(soft.data(), n);
    reference::Silu(silu.data(), n);
    reference::SwiGlu(swiglu.data(), up.data(), n);
    const size_t amax = reference::Argmax(logits.data(), n);
    const double soft_tol = (8.0 + 2.0 * std::sqrt(double(n))) * FLT_EPSILON;

    ForEachTarget([&] {
      std::vector<float> o(n), inplace = x, s = logits, si = act, sg = act;
      RmsNorm(x.data(), w.data(), n, 1e-5f, o.data());
      RmsNorm(inplace.data(), w.data(), n, 1e-5f, inplace.data());  // out aliases x
      Softmax(s.data(), n);
      Silu(si.data(), n);
      SwiGlu(sg.data(), up.data(), n);
      size_t bad_norm = 0, bad_alias = 0, bad_soft = 0, bad_silu = 0, bad_swiglu = 0;
      for (size_t i = 0; i < n; ++i) {
        if (std::fabs(o[i] - norm[i]) > 1e-5 * std::fabs(norm[i])) ++bad_norm;
        if (!SameBits(o[i], inplace[i])) ++bad_alias;
        if (std::fabs(s[i] - soft[i]) > soft_tol * soft[i]) ++bad_soft;
        if (std::fabs(si[i] - silu[i]) > 8 * FLT_EPSILON * std::fabs(silu[i]) + 1e-35) ++bad_silu;
        if (std::fabs(sg[i] - swiglu[i]) > 8 * FLT_EPSILON * std::fabs(swiglu[i]) + 1e-35)
          ++bad_swiglu;
      }
      CHECK(bad_norm == 0);
      CHECK(bad_alias == 0);
      CHECK(bad_soft == 0);
      CHECK(bad_silu == 0);
      CHECK(bad_swiglu == 0);
      CHECK(Argmax(logits.data(), n) == amax);
    });
  }
}

TEST_CASE("RoPE (interleaved and half-split) matches the reference on every target", "[unit]") {
  std::mt19937 rng(6);
  struct Case {
    size_t heads, head_dim, rot_dim, pos;
    float base;
  };
  const Case cases[] = {
      {1, 2, 2, 1, 10000.0f},    {3, 64, 64, 7, 10000.0f},     {2, 128, 64, 1000, 10000.0f},
      {4, 96, 32, 5, 500000.0f}, {2, 34, 34, 3, 10000.0f},     {1, 600, 600, 12345, 1e6f},
      {5, 48, 0, 9, 10000.0f},   {6, 30, 30, 65535, 10000.0f},
  };
  for (const Case& c : cases) {
    INFO("heads " << c.heads << " head_dim " << c.head_dim << " rot_dim " << c.rot_dim << " pos "
                  << c.pos);
    const std::vector<float> x = RandomFloats(rng, c.heads * c.head_dim);
    std::vector<float> inter = x, half = x;
    reference::RopeInterleaved(inter.data(), c.heads, c.head_dim, c.rot_dim, c.pos, c.base);
    reference::RopeHalfSplit(half.data(), c.heads, c.head_dim, c.rot_dim, c.pos, c.base);
    ForEachTarget([&] {
      std::vector<float> i2 = x, h2 = x;
      RopeInterleaved(i2.data(), c.heads, c.head_dim, c.rot_dim, c.pos, c.base);
      RopeHalfSplit(h2.data(), c.heads, c.head_dim, c.rot_dim, c.pos, c.base);
      size_t bad = 0;
      for (size_t h = 0; h < c.heads; ++h) {
        const size_t o = h * c.head_dim;
        for (size_t p = 0; p < c.rot_dim / 2; ++p) {
          const size_t a = o + 2 * p, b = a + 1;  // interleaved pair
          const double ti = 4 * FLT_EPSILON * (std::fabs(x[a]) + std::fabs(x[b]));
          if (std::fabs(i2[a] - inter[a]) > ti || std::fabs(i2[b] - inter[b]) > ti) ++bad;
          const size_t l = o + p, u = o + p + c.rot_dim / 2;  // half-split pair
          const double th = 4 * FLT_EPSILON * (std::fabs(x[l]) + std::fabs(x[u]));
          if (std::fabs(h2[l] - half[l]) > th || std::fabs(h2[u] - half[u]) > th) ++bad;
        }
        for (size_t d = c.rot_dim; d < c.head_dim; ++d) {  // beyond rot_dim: untouched
          if (!SameBits(i2[o + d], x[o + d]) || !SameBits(h2[o + d], x[o + d])) ++bad;
        }
      }
      CHECK(bad == 0);
    });
  }
}

TEST_CASE("DecayedDot and ExpScale match the reference on every target", "[unit]") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> decay(-30.0f, 0.0f);
  for (const size_t n : kSizes) {
    INFO("n " << n);
    const std::vector<float> a = RandomFloats(rng, n), b = RandomFloats(rng, n);
    std::vector<float> ld(n);
    for (size_t i = 0; i < n; ++i) ld[i] = i % 7 == 3 ? -100.0f : (i % 5 == 0 ? 0.0f : decay(rng));
    double abs_sum = 0;
    for (size_t i = 0; i < n; ++i)
      abs_sum += std::fabs(double(a[i]) * b[i] * std::exp(double(ld[i])));
    const float dot = reference::DecayedDot(a.data(), b.data(), ld.data(), n);
    std::vector<float> scaled(n);
    reference::ExpScale(a.data(), ld.data(), scaled.data(), n);
    ForEachTarget([&] {
      // exp within a few ulp on top of the summation error.
      CHECK(std::fabs(double(DecayedDot(a.data(), b.data(), ld.data(), n)) - dot) <=
            SumTol(n, abs_sum) + 4 * FLT_EPSILON * abs_sum);
      std::vector<float> out(n), in_place = a;
      ExpScale(a.data(), ld.data(), out.data(), n);
      ExpScale(in_place.data(), ld.data(), in_place.data(), n);
      size_t bad = 0;
      for (size_t i = 0; i < n; ++i) {
        if (std::fabs(out[i] - scaled[i]) > 4 * FLT_EPSILON * std::fabs(scaled[i]) + 1e-37f) ++bad;
        if (!SameBits(out[i], in_place[i])) ++bad;
      }
      CHECK(bad == 0);
    });
  }
}

TEST_CASE("SoftmaxTile matches the reference on every target", "[unit]") {
  std::mt19937 rng(31);
  for (const size_t n : {1, 7, 16, 37, 128}) {
    for (const size_t visible : {size_t(1), (n + 1) / 2, n}) {
      for (const float prior : {-std::numeric_limits<float>::infinity(), -30.0f, 30.0f}) {
        INFO("n " << n << " visible " << visible << " running max " << prior);
        const std::vector<float> s0 = RandomFloats(rng, n, -20.0f, 20.0f);
        std::vector<float> ref = s0;
        float ref_max = prior;
        const float ref_sum = reference::SoftmaxTile(ref.data(), n, visible, &ref_max);
        ForEachTarget([&] {
          std::vector<float> s = s0;
          float m = prior;
          const float sum = SoftmaxTile(s.data(), n, visible, &m);
          CHECK(m == ref_max);
          size_t bad = 0;
          for (size_t i = 0; i < n; ++i) {
            if (i >= visible && s[i] != 0.0f) ++bad;
            // exp within a few ulp of the float argument s - m, which itself rounds by up to
            // |s - m| * eps / 2 (the reference subtracts in double).
            const double tol =
                (4.0 + std::fabs(double(s0[i]) - ref_max)) * FLT_EPSILON * ref[i] + 1e-37;
            if (std::fabs(s[i] - ref[i]) > tol) ++bad;
          }
          CHECK(bad == 0);
          CHECK(std::fabs(sum - ref_sum) <= 48 * FLT_EPSILON * ref_sum * double(n) + 1e-37f);
        });
      }
    }
  }
}

TEST_CASE("AttentionScoresGather matches the reference on every target", "[unit]") {
  std::mt19937 rng(13);
  for (const size_t hd : {8, 64, 80}) {
    for (const size_t n :
         {1, 15, 16, 37, 70}) {  // partial and whole trees, past the prefetch distance
      const size_t positions = 101, stride = hd * 2 + 3;
      INFO("head_dim " << hd << " rows " << n);
      const std::vector<float> q = RandomFloats(rng, hd);
      const std::vector<float> kf = RandomFloats(rng, positions * stride);
      const std::vector<uint16_t> kh = RandomHalves(rng, positions * stride);
      std::vector<uint32_t> rows(n);
      std::uniform_int_distribution<uint32_t> pick(0, uint32_t(positions - 1));
      for (uint32_t& r : rows) r = pick(rng);  // scattered, repeats allowed
      for (DType dt : {DType::kF32, DType::kF16}) {
        const void* keys = dt == DType::kF16 ? static_cast<const void*>(kh.data()) : kf.data();
        auto elem = [&](size_t i) { return dt == DType::kF16 ? F16ToF32(kh[i]) : kf[i]; };
        std::vector<float> ref(n);
        reference::AttentionScoresGather(q.data(), hd, keys, stride, dt, rows.data(), n, 0.5f,
                                         ref.data());
        ForEachTarget([&] {
          std::vector<float> s(n + 1, -7.0f);
          AttentionScoresGather(q.data(), hd, keys, stride, dt, rows.data(), n, 0.5f, s.data());
          size_t bad = 0;
          for (size_t i = 0; i < n; ++i) {
            double abs_sum = 0;
            for (size_t c = 0; c < hd; ++c)
              abs_sum += std::fabs(double(q[c]) * elem(size_t(rows[i]) * stride + c));
            if (std::fabs(s[i] - ref[i]) > 0.5 * SumTol(hd, abs_sum)) ++bad;
          }
          CHECK(bad == 0);
          CHECK(s[n] == -7.0f);  // nothing written past n
        });
      }
    }
  }
}

TEST_CASE("AttentionScoresGather16 matches the reference on every target", "[unit]") {
  std::mt19937 rng(14);
  for (const size_t hd : {8, 64, 80, 130}) {   // column chunks of 64: one, two and a partial third
    for (const size_t n : {1, 3, 4, 9, 40}) {  // groups of four keys, whole and partial
      const size_t positions = 61, stride = hd + 5;
      INFO("head_dim " << hd << " rows " << n);
      const std::vector<float> qt = RandomFloats(rng, hd * 16);
      const std::vector<float> kf = RandomFloats(rng, positions * stride);
      const std::vector<uint16_t> kh = RandomHalves(rng, positions * stride);
      std::vector<uint32_t> rows(n);
      std::uniform_int_distribution<uint32_t> pick(0, uint32_t(positions - 1));
      for (uint32_t& r : rows) r = pick(rng);
      for (DType dt : {DType::kF32, DType::kF16}) {
        const void* keys = dt == DType::kF16 ? static_cast<const void*>(kh.data()) : kf.data();
        auto elem = [&](size_t i) { return dt == DType::kF16 ? F16ToF32(kh[i]) : kf[i]; };
        std::vector<float> ref(n * 16);
        reference::AttentionScoresGather16(qt.data(), hd, keys, stride, dt, rows.data(), n, 0.5f,
                                           ref.data());
        ForEachTarget([&] {
          std::vector<float> s(n * 16 + 1, -7.0f);
          AttentionScoresGather16(qt.data(), hd, keys, stride, dt, rows.data(), n, 0.5f, s.data());
          size_t bad = 0;
          for (size_t i = 0; i < n; ++i)
            for (size_t g = 0; g < 16; ++g) {
              double abs_sum = 0;
              for (size_t c = 0; c < hd; ++c)
                abs_sum += std::fabs(double(qt[c * 16 + g]) * elem(size_t(rows[i]) * stride + c));
              if (std::fabs(s[i * 16 + g] - ref[i * 16 + g]) > 0.5 * SumTol(hd, abs_sum)) ++bad;
            }
          CHECK(bad == 0);
          CHECK(s[n * 16] == -7.0f);  // nothing written past n rows
        });
      }
    }
  }
}

TEST_CASE("AttentionScores and AttentionAccumulate match the reference on every target", "[unit]") {
  std::mt19937 rng(12);
  for (const size_t hd : {8, 64, 80, 128}) {
    for (const size_t n_q : {1, 4, 6, 7}) {      // 6, 7: row blocks of 4 + 2 (+ 1)
      const size_t n = 37, stride = hd * 3 + 5;  // rows of other heads/positions in between
      INFO("head_dim " << hd << " heads " << n_q);
      const std::vector<float> q = RandomFloats(rng, n_q * hd),
                               p = RandomFloats(rng, n_q * n, 0.0f, 1.0f);
      const std::vector<float> kf = RandomFloats(rng, n * stride);
      const std::vector<uint16_t> kh = RandomHalves(rng, n * stride);
      const std::vector<float> out0 = RandomFloats(rng, n_q * hd);
      for (DType dt : {DType::kF32, DType::kF16}) {
        const void* rows = dt == DType::kF16 ? static_cast<const void*>(kh.data()) : kf.data();
        std::vector<float> ref_s(n_q * n), ref_o = out0;
        reference::AttentionScores(q.data(), n_q, hd, rows, stride, dt, n, 0.125f, ref_s.data());
        reference::AttentionAccumulate(p.data(), n_q, hd, rows, stride, dt, n, ref_o.data());
        auto elem = [&](size_t i) { return dt == DType::kF16 ? F16ToF32(kh[i]) : kf[i]; };
        ForEachTarget([&] {
          std::vector<float> s(n_q * n), o = out0;
          AttentionScores(q.data(), n_q, hd, rows, stride, dt, n, 0.125f, s.data());
          AttentionAccumulate(p.data(), n_q, hd, rows, stride, dt, n, o.data());
          size_t bad = 0;
          for (size_t g = 0; g < n_q; ++g) {
            for (size_t i = 0; i < n; ++i) {
              double abs_sum = 0;
              for (size_t c = 0; c < hd; ++c)
                abs_sum += std::fabs(double(q[g * hd + c]) * elem(i * stride + c));
              if (std::fabs(s[g * n + i] - ref_s[g * n + i]) > 0.125 * SumTol(hd, abs_sum)) ++bad;
            }
            for (size_t c = 0; c < hd; ++c) {
              double abs_sum = std::fabs(out0[g * hd + c]);
              for (size_t i = 0; i < n; ++i)
                abs_sum += std::fabs(double(p[g * n + i]) * elem(i * stride + c));
              if (std::fabs(o[g * hd + c] - ref_o[g * hd + c]) >
                  SumTol(n + 1, abs_sum) * std::sqrt(double(n)))
                ++bad;
            }
          }
          CHECK(bad == 0);
        });
      }
    }
  }
}
