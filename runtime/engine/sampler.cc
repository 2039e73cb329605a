#include "runtime/engine/sampler.h"

#include <algorithm>
#include <cmath>

#include "platform/kernels/ops.h"

namespace floe {

Status SamplerParams::Validate() const {
  // Values outside a setting's meaning are errors, not silently read as "off" (issue 27).
  if (!std::isfinite(temperature) || temperature < 0.0f)
    return InvalidArgument("temperature must be a finite number >= 0 (0 is greedy)");
  if (top_k < 0) return InvalidArgument("top_k must be >= 0 (0 disables it)");
  if (!(top_p > 0.0f && top_p <= 1.0f))
    return InvalidArgument("top_p must be in (0, 1] (1 disables it)");
  if (!(min_p >= 0.0f && min_p <= 1.0f)) return InvalidArgument("min_p must be in [0, 1]");
  if (!(repeat_penalty > 0.0f))
    return InvalidArgument("repeat_penalty must be > 0 (1 disables it)");
  if (repeat_last_n < 0) return InvalidArgument("repeat_last_n must be >= 0");
  return Status::Ok();
}

Sampler::Sampler(const SamplerParams& params) : params_(params), rng_(params.seed) {}

int32_t Sampler::Sample(std::span<const float> logits, std::span<const int32_t> recent) {
  const size_t n = logits.size();
  if (n == 0) return -1;
  const float* x = logits.data();
  if (params_.repeat_penalty != 1.0f && params_.repeat_last_n > 0 && !recent.empty()) {
    work_.assign(logits.begin(), logits.end());
    const size_t from =
        recent.size() > size_t(params_.repeat_last_n) ? recent.size() - params_.repeat_last_n : 0;
    // Each distinct token of the window once, however often it occurs (llama.cpp's
    // penalty_repeat: applied when its count is > 0).
    penalised_.assign(recent.begin() + std::ptrdiff_t(from), recent.end());
    std::sort(penalised_.begin(), penalised_.end());
    penalised_.erase(std::unique(penalised_.begin(), penalised_.end()), penalised_.end());
    for (const int32_t t : penalised_) {
      if (t < 0 || size_t(t) >= n) continue;
      float& v = work_[size_t(t)];
      v = v > 0 ? v / params_.repeat_penalty : v * params_.repeat_penalty;
    }
    x = work_.data();
  }
  if (params_.temperature <= 0.0f) return static_cast<int32_t>(Argmax(x, n));

  candidates_.resize(n);
  for (size_t i = 0; i < n; ++i) candidates_[i] = {x[i], static_cast<int32_t>(i)};
  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  size_t keep = n;
  if (params_.top_k > 0 && size_t(params_.top_k) < n) {
    keep = size_t(params_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(), by_logit);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), by_logit);
  }
  // Probabilities at temperature 1 for the truncation rules (as llama.cpp does).
  const float max_logit = candidates_[0].logit;
  std::vector<float>& p = work_;
  p.resize(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += (p[i] = std::exp(candidates_[i].logit - max_logit));
  if (params_.top_p < 1.0f) {
    double cum = 0;
    for (size_t i = 0; i < keep; ++i) {
      cum += p[i] / sum;
      if (cum >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {
    const float threshold = params_.min_p * p[0];  // p[0] is the top probability (unnormalised)
    size_t k = 1;
    while (k < keep && p[k] >= threshold) ++k;
    keep = k;
  }
  // Temperature, then draw.
  double total = 0;
  for (size_t i = 0; i < keep; ++i)
    total += (p[i] = std::exp((candidates_[i].logit - max_logit) / params_.temperature));
  std::uniform_real_distribution<double> uni(0.0, total);
  const double r = uni(rng_);
  double acc = 0;
  for (size_t i = 0; i < keep; ++i) {
    acc += p[i];
    if (r < acc) return candidates_[i].id;
  }
  return candidates_[keep - 1].id;
}

}  // namespace floe
