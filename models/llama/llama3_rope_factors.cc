#include "models/llama/llama3_rope_factors.h"

#include <cmath>
#include <string>

namespace floe {

Result<std::vector<float>> Llama3RopeFactors(size_t rot_dim, float base, float factor,
                                             float low_freq_factor, float high_freq_factor,
                                             size_t original_context) {
  auto positive = [](float v) { return v > 0.0f && std::isfinite(v); };
  if (rot_dim == 0 || rot_dim % 2 != 0)
    return InvalidArgument("llama3 rope factors: rope dimension " + std::to_string(rot_dim) +
                           " must be even and > 0");
  if (!positive(base) || !positive(factor) || !positive(low_freq_factor) ||
      !positive(high_freq_factor))
    return InvalidArgument("llama3 rope factors: base, factor, low and high frequency factors "
                           "must be positive");
  if (low_freq_factor == high_freq_factor)
    return InvalidArgument("llama3 rope factors: low and high frequency factors must differ");
  if (original_context == 0)
    return InvalidArgument("llama3 rope factors: the original context must be > 0");
  constexpr float kPi = 3.14159265358979323846f;
  const float orig = float(original_context);
  const float low_wavelen = orig / low_freq_factor, high_wavelen = orig / high_freq_factor;
  std::vector<float> out(rot_dim / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    const float theta = 1.0f / std::pow(base, float(2 * i) / float(rot_dim));
    const float wavelen = 2.0f * kPi / theta;
    if (wavelen < high_wavelen) {
      out[i] = 1.0f;
    } else if (wavelen > low_wavelen) {
      out[i] = factor;
    } else {
      const float smooth =
          (orig / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      out[i] = 1.0f / ((1.0f - smooth) / factor + smooth);
    }
  }
  return out;
}

}  // namespace floe
