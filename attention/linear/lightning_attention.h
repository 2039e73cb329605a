// Causal linear attention with a per-head exponential decay, for one head (TransNormerLLM,
// arXiv 2307.14995, Sec. 3.1 "NormAttention"/"Lightning Attention"; TransNormer's decayed
// linear attention, eq. of the recurrent form):
//   S_t = lambda S_{t-1} + k_t^T v_t            (S is d_k x d_v, fp32; row i = key channel)
//   o_t = q_t S_t = sum_{s <= t} lambda^(t-s) (q_t . k_s) v_s  +  lambda^(t+1) q_t S_{-1}
// where S_{-1} is the state carried in from earlier tokens (s_in) and lambda = exp(log_decay),
// log_decay <= 0. Both functions consume T tokens and write S_{T-1} to s_out.
//
// Vectors of token t are read at `base + t * stride` (a head's slice of per-token rows); o is
// written the same way. s_in and s_out must not overlap.
#pragma once

#include <cstddef>

namespace floe {

struct LightningHead {
  size_t dk = 0, dv = 0;  // key and value widths of this head
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  float* o = nullptr;
  size_t q_stride = 0, k_stride = 0, v_stride = 0, o_stride = 0;
  float log_decay = 0.0f;  // log lambda = -(decay rate)
  const float* s_in = nullptr;
  float* s_out = nullptr;
};

// The recurrence, one token at a time (the official code's decode branch): S = lambda S +
// k^T v (evaluated as S + ((lambda - 1) S + k^T v), see the .cc), then o = q S. No scratch.
void LightningRecurrent(const LightningHead& h, size_t T);

// Floats of scratch LightningBlock needs for T tokens.
inline size_t LightningBlockScratch(size_t T) { return T + 1; }

// The same T steps as one block of the Lightning Attention algorithm (Lightning Attention-2's
// intra/inter split, as the official prefill branch computes it):
//   o_t   = lambda^(t+1) q_t S_in                                   (inter-block)
//         + sum_{s <= t} lambda^(t-s) (q_t . k_s) v_s               (intra-block, [(Q K^T) . M] V)
//   S_out = lambda^T S_in + sum_s lambda^(T-1-s) k_s^T v_s
// Every decay factor lambda^j is computed directly as exp(j * log_decay) with 0 <= j <= T, so
// it lies in [0, 1]: no block length can overflow it (a factor that underflows is a true 0).
// Work is O(T^2 (d_k + d_v) + T d_k d_v); memory is the state plus `scratch`
// (LightningBlockScratch(T) floats), independent of how many tokens came before.
void LightningBlock(const LightningHead& h, size_t T, float* scratch);

// Blocks longer than this are split: the intra-block work grows with the block length while
// the inter-block work does not, and they balance near 2 d_k tokens (the official code uses
// blocks of 256 too).
inline constexpr size_t kLightningMaxBlock = 256;

// Floats of scratch LightningChunk needs for T tokens of a d_k x d_v head.
inline size_t LightningChunkScratch(size_t T, size_t dk, size_t dv) {
  const size_t block = T < kLightningMaxBlock ? T : kLightningMaxBlock;
  return LightningBlockScratch(block) + (T > kLightningMaxBlock ? dk * dv : 0);
}

// T tokens as consecutive Lightning blocks of at most kLightningMaxBlock tokens (the state
// carried between them in scratch): the cost stays linear in T whatever chunk a caller uses.
void LightningChunk(const LightningHead& h, size_t T, float* scratch);

}  // namespace floe
