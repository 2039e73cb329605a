#include "platform/kernels/rope_scaling.h"

#include <algorithm>
#include <cmath>

namespace floe {

namespace {

// The pair index whose wavelength completes `rotations` turns over `context` positions, in
// float (YaRN's wavelength ratio r = context / wavelength solved for the dimension).
float CorrDim(size_t rot_dim, size_t context, float rotations, float base) {
  constexpr float kPi = 3.14159265358979323846f;
  return float(rot_dim) * std::log(float(context) / (rotations * 2.0f * kPi)) /
         (2.0f * std::log(base));
}

}  // namespace

void RopeYarnCorrDims(size_t rot_dim, size_t original_context, float freq_base, float beta_fast,
                      float beta_slow, float dims[2]) {
  const float lo = std::floor(CorrDim(rot_dim, original_context, beta_fast, freq_base));
  const float hi = std::ceil(CorrDim(rot_dim, original_context, beta_slow, freq_base));
  dims[0] = std::max(0.0f, lo);
  dims[1] = std::min(float(rot_dim) - 1.0f, hi);
}

RopeFrequencies::RopeFrequencies(size_t rot_dim, float freq_base, const RopeScaling& s) {
  const size_t pairs = rot_dim / 2;
  freq_.resize(pairs);
  float dims[2] = {0.0f, 0.0f};
  const bool yarn = s.ext_factor != 0.0f;
  if (yarn) RopeYarnCorrDims(rot_dim, s.original_context, freq_base, s.beta_fast, s.beta_slow, dims);
  for (size_t i = 0; i < pairs; ++i) {
    double f = std::pow(double(freq_base), -double(2 * i) / double(rot_dim));
    if (!s.freq_factors.empty()) f /= double(s.freq_factors[i]);
    double mix = 0.0;
    if (yarn) {
      const float y = (float(i) - dims[0]) / std::max(0.001f, dims[1] - dims[0]);
      const float ramp = 1.0f - std::min(1.0f, std::max(0.0f, y));
      mix = double(ramp * s.ext_factor);
    }
    freq_[i] = f * (double(s.freq_scale) * (1.0 - mix) + mix);
  }
  mscale_ = s.attn_factor;
  if (yarn) mscale_ *= 1.0f + 0.1f * std::log(1.0f / s.freq_scale);
}

void RopeFrequencies::CosSin(size_t pos, float* cos, float* sin) const {
  const double p = double(pos), m = double(mscale_);
  for (size_t i = 0; i < freq_.size(); ++i) {
    const double a = p * freq_[i];
    cos[i] = float(m * std::cos(a));
    sin[i] = float(m * std::sin(a));
  }
}

}  // namespace floe
