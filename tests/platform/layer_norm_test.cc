// LayerNorm and GeluErf (platform/kernels/layer_norm.h) on every compiled Highway target
// against their scalar twins (reference.h). Tolerances:
//  - LayerNorm: |out - ref| <= 2e-5 * (1 + |ref|) (float against double accumulation of the
//    mean and variance over up to 4099 values of spread ~1 around 3).
//  - GeluErf: relative 4 * FLT_EPSILON, absolute 1e-7 (1 + erf(x) cancels in float for
//    x < -5, as in torch's float32 gelu; the double twin keeps ~1e-23 there).
#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "kernel_targets_util.h"
#include "platform/kernels/layer_norm.h"
#include "platform/kernels/reference.h"

using namespace floe;

TEST_CASE("LayerNorm matches its scalar reference on every target", "[unit]") {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  ForEachTarget([&] {
    for (size_t n : {1, 2, 7, 16, 33, 64, 257, 1024, 4099}) {
      INFO("n " << n);
      std::vector<float> x(n), w(n), b(n), got(n), want(n);
      for (size_t i = 0; i < n; ++i) {
        x[i] = 3.0f + normal(rng);  // an offset mean: the two-pass variance must handle it
        w[i] = 1.0f + 0.1f * normal(rng);
        b[i] = 0.02f * normal(rng);
      }
      LayerNorm(x.data(), w.data(), b.data(), n, 1e-5f, got.data());
      reference::LayerNorm(x.data(), w.data(), b.data(), n, 1e-5f, want.data());
      for (size_t i = 0; i < n; ++i) {
        const float tol = 2e-5f * (1.0f + std::fabs(want[i]));
        REQUIRE(std::fabs(got[i] - want[i]) <= tol);
      }
      // In place.
      std::vector<float> y = x;
      LayerNorm(y.data(), w.data(), b.data(), n, 1e-5f, y.data());
      for (size_t i = 0; i < n; ++i) REQUIRE(y[i] == got[i]);
    }
    // Known values: x = (1, 3), w = 1, b = 0.5: mean 2, var 1 -> (-1, 1) / sqrt(1 + eps) + 0.5.
    const float x[] = {1.0f, 3.0f}, w[] = {1.0f, 1.0f}, b[] = {0.5f, 0.5f};
    float out[2];
    LayerNorm(x, w, b, 2, 0.0f, out);
    CHECK(out[0] == Approx(-0.5f).epsilon(1e-6));
    CHECK(out[1] == Approx(1.5f).epsilon(1e-6));
  });
}

TEST_CASE("GeluErf matches its scalar reference", "[unit]") {
  std::vector<float> x, want;
  for (int i = -2000; i <= 2000; ++i) x.push_back(float(i) * 0.005f);
  x.push_back(-30.0f);
  x.push_back(30.0f);
  want = x;
  reference::GeluErf(want.data(), want.size());
  GeluErf(x.data(), x.size());
  for (size_t i = 0; i < x.size(); ++i)
    REQUIRE(std::fabs(x[i] - want[i]) <= 4 * FLT_EPSILON * std::fabs(want[i]) + 1e-7f);
  float one = 1.0f;
  GeluErf(&one, 1);
  CHECK(one == Approx(0.8413447f).epsilon(1e-6));  // Phi(1)
}
