// The selective scan of Mamba (Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with
// Selective State Spaces", arXiv 2312.00752, Algorithm 2 and eq. 2a/2b with the zero-order-hold
// discretisation of eq. 4: A_bar = exp(delta A), B_bar x = delta B x), as the official
// selective_scan_ref computes it, for T tokens and a range of channels d:
//   h_t[n][d] = exp(delta_t[d] * A[n][d]) * h_{t-1}[n][d] + (delta_t[d] * u_t[d]) * B_t[n]
//   y_t[d]    = (sum_n h_t[n][d] * C_t[n] + D[d] * u_t[d]) * silu(z_t[d])
// delta is either the step size itself or, as the official selective_scan_fn's delta_bias and
// delta_softplus options compute it, softplus(delta + delta_bias); the gate z is optional.
// The state h is d_state x d_inner fp32, channel-minor (a token's update is a vector operation
// over channels), updated in place; A is stored the same way (A[n][d], i.e. -exp(A_log)
// transposed). Channels are independent, so callers may split [0, d_inner) among threads.
#pragma once

#include <cstddef>

namespace floe {

struct SelectiveScanArgs {
  size_t d_inner = 0;  // channels (the row length of state and A)
  size_t d_state = 0;  // N
  // Per-token rows: token t's channel d of u is u[t * u_stride + d], and so on.
  const float* u = nullptr;  // input (after the causal conv and SiLU)
  size_t u_stride = 0;
  const float* delta = nullptr;  // step sizes, > 0 in practice (any float is valid)
  size_t delta_stride = 0;
  // Optional: the step size used is delta + delta_bias[d] (null: delta), then, with
  // delta_softplus, softplus of that (torch's default: x above 20 unchanged, else log1p(exp(x))).
  const float* delta_bias = nullptr;  // [d_inner]
  bool delta_softplus = false;
  const float* B = nullptr;  // token t's B: d_state floats at B + t * bc_stride
  const float* C = nullptr;  // token t's C: d_state floats at C + t * bc_stride
  size_t bc_stride = 0;
  const float* z = nullptr;  // gate; null: y is not gated
  size_t z_stride = 0;
  const float* A = nullptr;  // [d_state][d_inner]
  const float* D = nullptr;  // [d_inner] skip weights; null: no skip term
  float* state = nullptr;    // [d_state][d_inner], in/out
  float* y = nullptr;        // output rows, token t's channel d at y[t * y_stride + d]
  size_t y_stride = 0;
};

// Plain scalar loops (std::exp), the reference the vector kernel is tested against. Channels
// [d0, d1) of T tokens; the state's other channels are not touched. y may not alias the inputs.
void SelectiveScanReference(const SelectiveScanArgs& a, size_t T, size_t d0, size_t d1);

// The same, vectorised over channels with Highway (dispatched once per call to this CPU's best
// target; exp and log1p are Highway's, within a few ulp of std's). No heap allocation.
void SelectiveScan(const SelectiveScanArgs& a, size_t T, size_t d0, size_t d1);

}  // namespace floe
