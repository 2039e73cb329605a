// Sampler chain, applied in llama.cpp's order: repetition penalty -> top-k -> top-p -> min-p
// -> temperature -> draw. temperature <= 0 means greedy (argmax of the raw logits, after the
// repetition penalty). Deterministic for a given seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "platform/base/status.h"

namespace floe {

struct SamplerParams {
  float temperature = 0.8f;     // >= 0; 0: greedy
  int32_t top_k = 40;           // >= 0; 0: disabled
  float top_p = 0.95f;          // (0, 1]; 1: disabled
  float min_p = 0.05f;          // <= 0: disabled
  float repeat_penalty = 1.0f;  // 1: disabled (llama.cpp / CTRL-style division of positive logits)
  int32_t repeat_last_n = 64;   // how many recent tokens the penalty looks at
  uint64_t seed = 0;
  Status Validate() const;  // InvalidArgument naming the bad field
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& params);
  // `recent` are the tokens seen so far (the last repeat_last_n are penalised).
  // Allocates only on first use (buffers are kept for the next call).
  int32_t Sample(std::span<const float> logits, std::span<const int32_t> recent);
  void Reseed(uint64_t seed) { rng_.seed(seed); }
  const SamplerParams& params() const { return params_; }

 private:
  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<float> work_;
  std::vector<int32_t> penalised_;  // the distinct tokens of the penalty window
  struct Candidate {
    float logit;
    int32_t id;
  };
  std::vector<Candidate> candidates_;
};

}  // namespace floe
