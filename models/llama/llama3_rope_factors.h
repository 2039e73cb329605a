// Llama 3.1's "llama3" RoPE scaling as GGUF stores it: one divisor per rotated pair (the
// rope_freqs.weight tensor), computed as llama.cpp's convert_hf_to_gguf.py computes it from the
// Hugging Face rope_scaling (factor, low_freq_factor, high_freq_factor,
// original_max_position_embeddings): for theta_i = base^(-2i / rot_dim) and wavelength
// w_i = 2 pi / theta_i,
//   w_i < orig / high           -> 1             (high frequencies kept)
//   w_i > orig / low            -> factor        (low frequencies interpolated)
//   otherwise, smooth = (orig / w_i - low) / (high - low),
//                               -> 1 / ((1 - smooth) / factor + smooth)
// in float32 as the converter's torch tensors are.
#pragma once

#include <cstddef>
#include <vector>

#include "platform/base/status.h"

namespace floe {

// kInvalidArgument for rot_dim odd or 0, base, factor or the frequency factors not positive,
// low == high, or original_context 0.
Result<std::vector<float>> Llama3RopeFactors(size_t rot_dim, float base, float factor,
                                             float low_freq_factor, float high_freq_factor,
                                             size_t original_context);

}  // namespace floe
