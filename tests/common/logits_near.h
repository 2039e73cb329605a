// Checks a run's logits against reference logits with the measures parity checks use
// (runtime/tools/logits_compare.h): max |difference|, mean KL, top-1 agreement within bounds and
// no non-finite value. The measured figures go into the failure message.
#pragma once

#include <cstddef>
#include <span>

#include <catch2/catch.hpp>

#include "runtime/tools/logits_compare.h"

namespace floe::testing {

struct LogitsBounds {
  double max_abs = 0, mean_kl = 0, top1 = 1;  // top1: the least fraction of rows agreeing
};

inline void CheckLogitsNear(std::span<const float> expected, std::span<const float> got,
                            size_t vocab, const LogitsBounds& bounds) {
  auto cmp = CompareLogits(expected, got, vocab);
  REQUIRE(cmp.ok());
  INFO("max " << cmp->max_abs_diff << " mean KL " << cmp->mean_kl << " top-1 "
              << cmp->top1_agreement);
  CHECK(cmp->max_abs_diff <= bounds.max_abs);
  CHECK(cmp->mean_kl <= bounds.mean_kl);
  CHECK(cmp->top1_agreement >= bounds.top1);
  CHECK(cmp->non_finite == 0);
}

}  // namespace floe::testing
