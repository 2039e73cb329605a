// Random-weight RWKV-6 models of any shape, for tests (chunked vs recurrent on models that are
// not the trained tiny one) and benchmarks (the 1B6 shape). Tensors use the official names and
// layout (Rwkv6Layout::kOfficial); values follow the spirit of RWKV-LM's init (orthogonal-ish
// scaled matrices, decays spread from slow to fast, mixing weights in [0, 1]) so activations
// stay finite over long sequences. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/rwkv6/rwkv6_weights.h"

namespace floe {

struct RandomRwkv6 {
  TensorSet tensors;  // views into `storage`
  std::vector<std::unique_ptr<uint8_t[]>> storage;
};

// `shape` gives vocab_size, n_embd, n_layer, dim_ffn, head_size, lora_mix, lora_decay (n_head is
// derived). Large matrices are stored as `dtype` (F32, F16 or BF16); vectors and LoRA in F32.
Result<std::unique_ptr<RandomRwkv6>> MakeRandomRwkv6(Rwkv6Config shape, uint64_t seed,
                                                     DType dtype = DType::kF32);

}  // namespace floe
