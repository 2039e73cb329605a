// Random-weight TransNormerLLM models of any shape, for tests (Lightning prefill against the
// recurrence on a model that is not the reference one) and benchmarks (the 1B shape). Tensors
// use the official names and shapes (transnormer_weights.h); matrices are uniform with a
// unit-gain fan-in scale, LRPE theta has its official value 10000^(-2i/D). Deterministic for a
// given seed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/transnormer/transnormer_weights.h"

namespace floe {

struct RandomTransnormer {
  TransnormerConfig config;
  TensorSet tensors;  // views into `storage`
  std::vector<std::unique_ptr<uint8_t[]>> storage;
};

// Matrices are stored as `dtype` (F32, F16 or BF16), theta as F32. lm_head is written unless
// the config ties it to the embedding.
Result<std::unique_ptr<RandomTransnormer>> MakeRandomTransnormer(const TransnormerConfig& config,
                                                                 uint64_t seed,
                                                                 DType dtype = DType::kF32);

// The config as the official config.json would carry it (the keys TransnormerConfigFromHfConfig
// reads), so a random model can be written beside its weights.
std::string TransnormerConfigJson(const TransnormerConfig& config);

}  // namespace floe
