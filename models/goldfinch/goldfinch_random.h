// Random-weight GoldFinch models of any shape, for tests and benchmarks (make-model presets).
// Tensors use the official names and shapes; values follow the spirit of the official
// generate_init_weight (mixing weights in [0, 1], decays spread from slow to fast, scaled
// matrices) with nothing zero, so every path contributes. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/goldfinch/goldfinch_weights.h"

namespace floe {

struct RandomGoldfinch {
  TensorSet tensors;  // views into `storage`
  std::vector<std::unique_ptr<uint8_t[]>> storage;
};

// `shape` gives every config field (n_head is derived from head_size). Large matrices are
// stored as `dtype` (F32, F16 or BF16); vectors and LoRA in F32.
Result<std::unique_ptr<RandomGoldfinch>> MakeRandomGoldfinch(GoldfinchConfig shape, uint64_t seed,
                                                             DType dtype = DType::kF32);

// The presets: tiny (test size), small (L12 D768), 1b5 (the paper's L24 D2048 1.5B-class shape).
Result<GoldfinchConfig> GoldfinchPresetShape(const std::string& name);

}  // namespace floe
