#include "runtime/tools/logits_compare.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace floe {

namespace {

// log(sum(exp(x))) with the max subtracted.
double LogSumExp(const float* x, size_t n) {
  double m = -INFINITY;
  for (size_t i = 0; i < n; ++i) m = std::max(m, double(x[i]));
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += std::exp(double(x[i]) - m);
  return m + std::log(s);
}

size_t Argmax(const float* x, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

}  // namespace

Result<LogitsComparison> CompareLogits(std::span<const float> a, std::span<const float> b,
                                       size_t vocab) {
  if (vocab == 0) return InvalidArgument("vocabulary size must be positive");
  if (a.size() != b.size())
    return InvalidArgument("the logits files differ in size (" + std::to_string(a.size()) + " vs " +
                           std::to_string(b.size()) + " floats)");
  if (a.empty() || a.size() % vocab != 0)
    return InvalidArgument(std::to_string(a.size()) +
                           " floats is not a positive multiple of the vocabulary size " +
                           std::to_string(vocab));
  LogitsComparison c;
  c.rows = a.size() / vocab;
  size_t agree = 0;
  double kl_sum = 0;
  for (size_t r = 0; r < c.rows; ++r) {
    const float* x = a.data() + r * vocab;
    const float* y = b.data() + r * vocab;
    bool finite = true;
    for (size_t i = 0; i < vocab; ++i) {
      if (!std::isfinite(x[i]) || !std::isfinite(y[i])) {
        ++c.non_finite;
        finite = false;
        continue;
      }
      const double d = std::fabs(double(x[i]) - double(y[i]));
      if (d > c.max_abs_diff) {
        c.max_abs_diff = d;
        c.max_abs_row = r;
      }
    }
    if (Argmax(x, vocab) == Argmax(y, vocab)) ++agree;
    if (!finite) continue;
    const double lx = LogSumExp(x, vocab), ly = LogSumExp(y, vocab);
    double kl = 0;
    for (size_t i = 0; i < vocab; ++i) {
      const double lpx = double(x[i]) - lx, lpy = double(y[i]) - ly;
      kl += std::exp(lpx) * (lpx - lpy);
    }
    kl = std::max(0.0, kl);  // rounding can make a ~0 KL slightly negative
    kl_sum += kl;
    c.max_kl = std::max(c.max_kl, kl);
  }
  c.mean_kl = kl_sum / double(c.rows);
  c.top1_agreement = double(agree) / double(c.rows);
  return c;
}

}  // namespace floe
