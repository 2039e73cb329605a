// RoPE frequency scaling as llama.cpp applies it (ggml_rope_ext): linear position interpolation
// (Chen et al. 2023, "Extending Context Window of Large Language Models via Positional
// Interpolation"), YaRN (Peng et al. 2023, "YaRN: Efficient Context Window Extension of Large
// Language Models": the NTK-by-parts ramp between the correction dims, and the attention
// temperature 0.1 ln(s) + 1 folded into cos and sin), and per-pair frequency divisors
// (Llama 3.1's "llama3" rope type, stored in GGUF as the rope_freqs tensor).
//
// For pair i of rot_dim/2 at position p, with theta_i = freq_base^(-2i / rot_dim):
//   extrap = p * theta_i / freq_factors[i]                     (freq_factors: 1 when absent)
//   interp = freq_scale * extrap
//   ramp   = 1 - clamp((i - lo) / max(0.001, hi - lo), 0, 1)   (lo, hi: RopeYarnCorrDims)
//   mix    = ext_factor * ramp
//   angle  = interp * (1 - mix) + extrap * mix
//   mscale = attn_factor * (ext_factor != 0 ? 1 + 0.1 ln(1 / freq_scale) : 1)
// and the pair turns by `angle` with both coordinates scaled by `mscale`:
//   (x0, x1) -> mscale * (x0 cos - x1 sin, x0 sin + x1 cos).
// Every term but p is fixed per pair, so angle = p * freq_i with one effective frequency per
// pair; RopeFrequencies computes those once per model and the angle per position in double.
#pragma once

#include <cstddef>
#include <vector>

namespace floe {

// ggml_rope_ext's parameters (llama.cpp names in brackets). The defaults rotate exactly as
// unscaled RoPE does.
struct RopeScaling {
  float freq_scale = 1.0f;   // 1 / rope.scaling.factor for linear and YaRN [freq_scale]
  float ext_factor = 0.0f;   // YaRN's extrapolation mix: 1 for YaRN, else 0 [yarn_ext_factor]
  float attn_factor = 1.0f;  // magnitude of cos and sin [yarn_attn_factor]
  float beta_fast = 32.0f;   // YaRN: rotations at which the ramp ends (pure extrapolation)
  float beta_slow = 1.0f;    // YaRN: rotations at which the ramp starts (pure interpolation)
  size_t original_context = 0;     // YaRN's training context [n_ctx_orig_yarn]; > 0 for YaRN
  std::vector<float> freq_factors;  // empty, or rot_dim/2 divisors > 0 [rope_freqs]

  // True when these parameters change nothing (the plain llama2.c RoPE applies).
  bool identity() const {
    return freq_scale == 1.0f && ext_factor == 0.0f && attn_factor == 1.0f &&
           freq_factors.empty();
  }
};

// YaRN's correction dims [lo, hi] (ggml_rope_yarn_corr_dims, computed in float as it does,
// because floor/ceil make them discrete): the pair index at which a wavelength completes
// beta_fast (lo, floored, >= 0) and beta_slow (hi, ceiled, <= rot_dim - 1) rotations over
// original_context positions, dim(b) = rot_dim * ln(original_context / (2 pi b)) / (2 ln base).
void RopeYarnCorrDims(size_t rot_dim, size_t original_context, float freq_base, float beta_fast,
                      float beta_slow, float dims[2]);

// The effective per-pair frequencies and magnitude of the header's formula.
// Preconditions (checked by the model config): rot_dim even and > 0, freq_base > 0,
// freq_scale > 0, freq_factors empty or rot_dim/2 values > 0, original_context > 0 when
// ext_factor != 0.
class RopeFrequencies {
 public:
  RopeFrequencies() = default;
  RopeFrequencies(size_t rot_dim, float freq_base, const RopeScaling& s);

  size_t pairs() const { return freq_.size(); }
  float mscale() const { return mscale_; }
  double freq(size_t i) const { return freq_[i]; }
  // cos[i] = mscale cos(pos * freq_i), sin[i] = mscale sin(pos * freq_i), i < pairs(); the
  // angle and its cosine and sine in double, rounded once to float.
  void CosSin(size_t pos, float* cos, float* sin) const;

 private:
  std::vector<double> freq_;
  float mscale_ = 1.0f;
};

}  // namespace floe
