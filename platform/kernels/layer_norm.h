// LayerNorm with an affine weight and bias (Ba et al. 2016, "Layer Normalization"; the
// arithmetic of torch.nn.LayerNorm: biased variance, eps inside the square root), and the exact
// (erf) GELU (Hendrycks & Gimpel 2016), the two GPT-NeoX needs beside ops.h's kernels.
// Dispatched once per call to the best Highway target (layer_norm.cc); scalar twins in
// reference.h; tests/platform/layer_norm_test.cc runs every compiled target against them.
#pragma once

#include <cstddef>

namespace floe {

// out[i] = (x[i] - mean) / sqrt(var + eps) * w[i] + b[i], mean and var over the n values
// (two passes, float vector accumulators). `out` may alias `x`. n >= 1.
void LayerNorm(const float* x, const float* w, const float* b, size_t n, float eps, float* out);

// x[i] = 0.5 x[i] (1 + erf(x[i] / sqrt(2))), in place (std::erf; no vector erf in Highway 1.0).
void GeluErf(float* x, size_t n);

}  // namespace floe
