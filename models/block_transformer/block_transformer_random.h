// Random-weight Block Transformers of any shape, for tests and benchmarks (the paper's b4
// shapes). Tensors use the official names and shapes (block_transformer_weights.h); values
// follow the official initialisation in spirit (GPT-NeoX Linear/Embedding ~ N(0, 0.02), here
// uniform with that standard deviation; LayerNorm 1 / 0; the expansion Conv1d with fan-in
// scale), with small random biases and LayerNorm perturbations so that every parameter
// matters in tests. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/block_transformer/block_transformer_weights.h"
#include "platform/base/dtype.h"

namespace floe {

struct RandomBlockTransformer {
  BlockTransformerConfig config;
  TensorSet tensors;  // views into `storage`
  std::vector<std::unique_ptr<uint8_t[]>> storage;
};

// Matrices (lookup, embeddings, projections, head, expansion) stored as `dtype`: F32, F16 or
// BF16; vectors F32.
Result<std::unique_ptr<RandomBlockTransformer>> MakeRandomBlockTransformer(
    const BlockTransformerConfig& config, uint64_t seed, DType dtype = DType::kF32);

// The presets of `floe make-model --arch block-transformer`.
Result<BlockTransformerConfig> BlockTransformerPresetShape(const std::string& name);

}  // namespace floe
