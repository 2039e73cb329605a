// CompareLogits against values worked out by hand.
#include <cmath>
#include <vector>

#include "runtime/tools/logits_compare.h"
#include "test_data.h"

using namespace floe;

TEST_CASE("CompareLogits: max abs, KL and top-1 by hand", "[unit]") {
  // Row 0: a = [0, 0] -> p = (1/2, 1/2); b = [0, ln 3] -> q = (1/4, 3/4).
  //   KL(p||q) = 1/2 ln 2 + 1/2 ln(2/3) = 1/2 ln(4/3). argmax a = 0 (first of a tie), b = 1.
  // Row 1: identical rows: KL 0, argmax agrees.
  const float ln3 = std::log(3.0f);
  const std::vector<float> a = {0, 0, 1, 2};
  const std::vector<float> b = {0, ln3, 1, 2};
  auto c = CompareLogits(a, b, 2);
  REQUIRE(c.ok());
  CHECK(c->rows == 2);
  CHECK(c->max_abs_diff == Approx(ln3));
  CHECK(c->max_abs_row == 0);
  CHECK(c->max_kl == Approx(0.5 * std::log(4.0 / 3.0)).epsilon(1e-6));
  CHECK(c->mean_kl == Approx(0.25 * std::log(4.0 / 3.0)).epsilon(1e-6));
  CHECK(c->top1_agreement == 0.5);
  CHECK(c->non_finite == 0);
}

TEST_CASE("CompareLogits: shift invariance, non-finite values and bad sizes", "[unit]") {
  const std::vector<float> a = {1, 2, 3};
  const std::vector<float> shifted = {11, 12, 13};  // same distribution
  auto c = CompareLogits(a, shifted, 3);
  REQUIRE(c.ok());
  CHECK(c->mean_kl == Approx(0).margin(1e-12));
  CHECK(c->max_abs_diff == Approx(10));
  const std::vector<float> bad = {1, NAN, 3};
  auto n = CompareLogits(a, bad, 3);
  REQUIRE(n.ok());
  CHECK(n->non_finite == 1);
  CHECK_FALSE(CompareLogits(a, std::vector<float>{1, 2}, 3).ok());
  CHECK_FALSE(CompareLogits(a, a, 2).ok());
  CHECK_FALSE(CompareLogits(a, a, 0).ok());
}
