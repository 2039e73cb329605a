// The RWKV-6 WKV operator for one head (RWKV-6 / Finch, arXiv 2404.05892, eq. for x060):
//   y_t  = r_t^T (S_{t-1} + diag(u) k_t v_t^T)
//   S_t  = diag(w_t) S_{t-1} + k_t v_t^T,        w_t = exp(-exp(decay_t)) per key channel
// S is N x N (row i = key channel, column j = value channel), fp32. Callers pass the log decay
// lw_t = -exp(decay_t) (exactly log w_t, no rounding through w), so the chunked form can form
// pairwise decays from differences of cumulative logs.
//
// All vectors of token t are read at `base + t * stride` (stride = n_embd: a head's slice of
// the per-token rows); y is written the same way. s_in and s_out must not overlap.
#pragma once

#include <cstddef>

namespace floe {

struct Wkv6Head {
  size_t n = 0;       // head size N
  size_t stride = 0;  // floats between consecutive tokens' rows in r/k/v/lw/y
  const float* r = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  const float* lw = nullptr;  // log decay, <= 0
  const float* u = nullptr;   // bonus (time_faaaa), N values
  const float* s_in = nullptr;
  float* s_out = nullptr;
  float* y = nullptr;
};

// The recurrence, token by token (the official RNN form; also the reference for the chunked
// form). T tokens; `scratch` holds N*N floats when T > 1 (the running state).
void Wkv6Recurrent(const Wkv6Head& h, size_t T, float* scratch);

// Floats of scratch Wkv6Chunk needs for a chunk of T tokens of head size N.
size_t Wkv6ChunkScratch(size_t T, size_t N);

// The same T steps in the chunk-parallel form: with A_t = sum_{q<=t} lw_q and A_{-1} = 0,
//   y_t   = (r_t * exp(A_{t-1}))^T S_in + sum_{s<t} [sum_i r_ti k_si exp(A_{t-1,i} - A_{s,i})] v_s
//           + (sum_i r_ti u_i k_ti) v_t
//   S_out = diag(exp(A_{T-1})) S_in + sum_s diag(exp(A_{T-1} - A_s)) k_s v_s^T
// Every decay factor is the exp of a sum of log decays (<= 0), accumulated directly for each
// pair, never a quotient or product of large and small exponentials, so no chunk length can
// overflow or underflow it into a wrong value. Scratch: Wkv6ChunkScratch(T, N) floats.
void Wkv6Chunk(const Wkv6Head& h, size_t T, float* scratch);

}  // namespace floe
