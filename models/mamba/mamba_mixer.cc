#include "models/mamba/mamba_mixer.h"

#include <cstring>

#include "attention/linear/selective_scan.h"
#include "platform/kernels/ops.h"

namespace floe {

namespace {

// Channels per parallel task of the conv and the scan (a multiple of every vector width).
constexpr size_t kChannelGrain = 64;

}  // namespace

Status MambaMixerScratch::Init(const MambaMixerShape& c, size_t batch) {
  batch_ = batch;
  const size_t B = batch, Di = c.d_inner, K = c.d_conv, R = c.dt_rank, N = c.d_state;
  xdbl_stride_ = R + 2 * N;
  FLOE_RETURN_IF_ERROR(buf_.Resize(B * (2 * Di + 3 * Di + xdbl_stride_ + R) + (K - 1 + B) * Di));
  float* p = buf_.data();
  auto take = [&](size_t n) {
    float* r = p;
    p += n;
    return r;
  };
  xz_ = take(B * 2 * Di);
  u_ = take(B * Di);
  delta_ = take(B * Di);
  y_ = take(B * Di);
  xdbl_ = take(B * xdbl_stride_);
  dt_ = take(B * R);
  window_ = take((K - 1 + B) * Di);
  return Status::Ok();
}

void MambaMixerForward(const MambaLayerWeights& L, const MambaMixerShape& c, const float* h,
                       size_t n, const float* conv_in, float* conv_out, MambaMixerScratch& s,
                       float* out, ThreadContext& threads) {
  const size_t Di = c.d_inner, K = c.d_conv, N = c.d_state, R = c.dt_rank;
  MatMulTokens(L.in_proj, h, n, s.xz_, threads);  // per token: xi | z

  // Causal depthwise conv over [conv window; this chunk's xi] (nn.Conv1d with padding K - 1,
  // truncated to the sequence; Mamba.step's rolled conv_state), then SiLU.
  float* win = s.window_;
  std::memcpy(win, conv_in, (K - 1) * Di * sizeof(float));
  for (size_t t = 0; t < n; ++t)
    std::memcpy(win + (K - 1 + t) * Di, s.xz_ + t * 2 * Di, Di * sizeof(float));
  std::memcpy(conv_out, win + n * Di, (K - 1) * Di * sizeof(float));
  threads.ParallelFor(Di, kChannelGrain, [&](size_t d0, size_t d1) {
    for (size_t t = 0; t < n; ++t) {
      float* u = s.u_ + t * Di;
      for (size_t d = d0; d < d1; ++d) u[d] = L.conv_b[d];
      for (size_t k = 0; k < K; ++k) {
        const float* wk = L.conv_t + k * Di;
        const float* in = win + (t + k) * Di;
        for (size_t d = d0; d < d1; ++d) u[d] += wk[d] * in[d];
      }
      Silu(u + d0, d1 - d0);
    }
  });

  // dt, B, C = x_proj(u); delta = dt_proj(dt), to which the scan adds dt_bias and applies
  // softplus (the official selective_scan_fn's delta_bias, delta_softplus=True).
  MatMulTokens(L.x_proj, s.u_, n, s.xdbl_, threads);
  for (size_t t = 0; t < n; ++t)
    std::memcpy(s.dt_ + t * R, s.xdbl_ + t * s.xdbl_stride_, R * sizeof(float));
  MatMulTokens(L.dt_proj, s.dt_, n, s.delta_, threads);

  // The scan continues the SSM state (copied to the write buffer, updated in place).
  float* ssm = conv_out + (K - 1) * Di;
  std::memcpy(ssm, conv_in + (K - 1) * Di, N * Di * sizeof(float));
  SelectiveScanArgs a;
  a.d_inner = Di;
  a.d_state = N;
  a.u = s.u_;
  a.u_stride = Di;
  a.delta = s.delta_;
  a.delta_stride = Di;
  a.delta_bias = L.dt_bias;
  a.delta_softplus = true;
  a.B = s.xdbl_ + R;
  a.C = s.xdbl_ + R + N;
  a.bc_stride = s.xdbl_stride_;
  a.z = s.xz_ + Di;
  a.z_stride = 2 * Di;
  a.A = L.A_t;
  a.D = L.D;
  a.state = ssm;
  a.y = s.y_;
  a.y_stride = Di;
  threads.ParallelFor(Di, kChannelGrain,
                      [&](size_t d0, size_t d1) { SelectiveScan(a, n, d0, d1); });

  MatMulTokens(L.out_proj, s.y_, n, out, threads);
}

}  // namespace floe
