// Compares two logits matrices ([rows][vocab] float32, as `floe logits` writes them): the
// measures parity checks between runtimes (ours vs a peer, CPU vs GPU) are judged on.
#pragma once

#include <cstddef>
#include <span>

#include "platform/base/status.h"

namespace floe {

struct LogitsComparison {
  size_t rows = 0;
  double max_abs_diff = 0;  // max over all entries of |a - b|
  size_t max_abs_row = 0;   // where it occurs
  double mean_kl = 0;       // mean over rows of KL(softmax(a) || softmax(b)), nats
  double max_kl = 0;
  double top1_agreement = 0;  // fraction of rows whose argmax agrees
  size_t non_finite = 0;      // entries that are NaN or infinite in either input
};

// a and b must have the same size, a positive multiple of vocab (kInvalidArgument otherwise).
// Softmax and KL are computed in double precision with the max subtracted.
Result<LogitsComparison> CompareLogits(std::span<const float> a, std::span<const float> b,
                                       size_t vocab);

}  // namespace floe
