// Test helper: RoPE frequencies of each scaling in double precision, written from the published
// definitions (not from floe's code):
//  - linear: Chen et al. 2023, "Extending Context Window of Large Language Models via Positional
//    Interpolation": theta_i / s;
//  - YaRN: the authors' reference implementation (jquesnelle/yarn,
//    LlamaYaRNScaledRotaryEmbedding: find_correction_range with beta_fast 32 and beta_slow 1,
//    linear_ramp_mask over the pair index, extrapolation factor 1, get_mscale 0.1 ln(s) + 1),
//    which llama.cpp's ggml_rope_ext follows;
//  - llama3: Hugging Face transformers' _compute_llama3_parameters (inv_freq / factor for long
//    wavelengths, a smooth mix between low_freq_factor and high_freq_factor).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace floe::testing {

inline constexpr double kPi = 3.14159265358979323846;

// One scaling as a model card states it.
struct Scaling {
  const char* name;
  double factor = 1.0;     // s
  bool yarn = false;
  size_t orig_ctx = 0;     // YaRN's and llama3's original context
  double attn = 1.0;       // rope.scaling.attn_factor
  bool llama3 = false;
  double low = 1.0, high = 4.0;  // llama3
};

// Inverse frequencies (angle per position) of each pair, and the magnitude, in double.
inline void ReferenceFreqs(const Scaling& s, size_t dim, double base, std::vector<double>* inv_freq,
                    double* mscale) {
  const size_t pairs = dim / 2;
  inv_freq->assign(pairs, 0.0);
  *mscale = s.attn;
  for (size_t i = 0; i < pairs; ++i) (*inv_freq)[i] = 1.0 / std::pow(base, double(2 * i) / dim);
  if (s.llama3) {
    // transformers' _compute_llama3_parameters.
    const double low_wavelen = double(s.orig_ctx) / s.low,
                 high_wavelen = double(s.orig_ctx) / s.high;
    for (double& f : *inv_freq) {
      const double wavelen = 2 * kPi / f;
      if (wavelen > low_wavelen) {
        f = f / s.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (double(s.orig_ctx) / wavelen - s.low) / (s.high - s.low);
        f = (1 - smooth) * f / s.factor + smooth * f;
      }
    }
  }
  if (s.yarn) {
    // jquesnelle/yarn: correction range from beta_fast 32, beta_slow 1, a linear ramp over the
    // pair index, extrapolation factor 1, mscale 0.1 ln(s) + 1.
    auto corr_dim = [&](double rotations) {
      return dim * std::log(double(s.orig_ctx) / (rotations * 2 * kPi)) / (2 * std::log(base));
    };
    double low = std::max(0.0, std::floor(corr_dim(32.0)));
    double high = std::min(double(dim) - 1, std::ceil(corr_dim(1.0)));
    if (low == high) high += 0.001;
    for (size_t i = 0; i < pairs; ++i) {
      const double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
      const double extrap_mask = 1.0 - ramp;
      const double extrap = (*inv_freq)[i], interp = extrap / s.factor;
      (*inv_freq)[i] = interp * (1 - extrap_mask) + extrap * extrap_mask;
    }
    *mscale *= 0.1 * std::log(s.factor) + 1.0;
  } else if (!s.llama3) {
    for (double& f : *inv_freq) f /= s.factor;  // linear (factor 1: none)
  }
}

}  // namespace floe::testing
