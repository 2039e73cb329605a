// Random-weight Mamba-1 models of any shape, for tests (chunked prefill against token-by-token
// decode on a model that is not the reference one) and benchmarks (the released shapes).
// Tensors use the official names and shapes (mamba_weights.h); values follow the official
// initialisation (Mamba.__init__, MixerModel._init_weights): S4D-real A_log = log(1..N), D = 1,
// dt_proj weight U(+-R^-0.5) and bias = softplus^-1 of a log-uniform dt in [0.001, 0.1],
// fan-in uniform projections, out_proj scaled by 1/sqrt(n_layer), unit norms, so the state
// decays and activations stay finite over long sequences. Deterministic for a given seed.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/mamba/mamba_weights.h"

namespace floe {

struct RandomMamba {
  MambaConfig config;
  TensorSet tensors;  // views into `storage`
  std::vector<std::unique_ptr<uint8_t[]>> storage;
};

// The embedding and the in/x/out projection matrices (and lm_head when untied) are stored as
// `dtype`: F32, F16, BF16, or Q8_0 / Q4_0 (quantized from the F32 values; d_model and d_inner
// must then be multiples of 32). dt_proj, vectors, the conv kernel and A_log are F32.
Result<std::unique_ptr<RandomMamba>> MakeRandomMamba(const MambaConfig& config, uint64_t seed,
                                                     DType dtype = DType::kF32);

}  // namespace floe
