// The Mamba-1 mixer (Gu & Dao 2023, arXiv 2312.00752; state-spaces/mamba's Mamba.forward slow
// path and Mamba.step) on n rows of an already normed input, shared by the Mamba model and by
// RecurFormer's recurrent heads (models/recurformer):
//   [xi, z] = W_in h                                   (d_inner each)
//   u  = SiLU(causal depthwise conv1d(xi) + b_conv)    (width K, per channel)
//   [dt, B, C] = W_x u                                 (dt_rank, d_state, d_state)
//   delta = softplus(W_dt dt + b_dt)
//   y  = selective scan (attention/linear/selective_scan.h) with A = -exp(A_log), D, gated by
//        SiLU(z)
//   out = W_out y                                      (d_out: d_model in Mamba; the replaced
//                                                       heads' width in RecurFormer)
// The state of one mixer: the conv window [K - 1][d_inner] (oldest input first), then the SSM
// state [d_state][d_inner].
#pragma once

#include <cstddef>

#include "models/mamba/mamba_weights.h"
#include "platform/base/aligned_buffer.h"
#include "platform/base/status.h"
#include "platform/base/thread_context.h"

namespace floe {

struct MambaMixerShape {
  size_t d_in = 0, d_inner = 0, d_state = 0, d_conv = 0, dt_rank = 0, d_out = 0;
  size_t state_floats() const { return d_inner * (d_conv - 1 + d_state); }
};

// The activations of up to `batch` rows, allocated once.
class MambaMixerScratch {
 public:
  Status Init(const MambaMixerShape& shape, size_t batch);
  size_t bytes() const { return buf_.size() * sizeof(float); }

 private:
  friend void MambaMixerForward(const MambaLayerWeights&, const MambaMixerShape&, const float*,
                                size_t, const float*, float*, MambaMixerScratch&, float*,
                                ThreadContext&);
  AlignedBuffer<float> buf_;
  size_t batch_ = 0, xdbl_stride_ = 0;
  float *xz_ = nullptr, *u_ = nullptr, *delta_ = nullptr, *y_ = nullptr, *xdbl_ = nullptr,
        *dt_ = nullptr, *window_ = nullptr;
};

// n <= the scratch's batch rows of h (d_in floats each) -> out (d_out floats each). Reads the
// state from state_in and writes the state after the n rows to state_out (distinct buffers of
// shape.state_floats() floats), so a caller can keep the old state until its chunk completes.
void MambaMixerForward(const MambaLayerWeights& L, const MambaMixerShape& shape, const float* h,
                       size_t n, const float* state_in, float* state_out,
                       MambaMixerScratch& scratch, float* out, ThreadContext& threads);

}  // namespace floe
