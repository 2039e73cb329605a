// Mamba-1 (Gu & Dao 2023, arXiv 2312.00752; the arithmetic of state-spaces/mamba's
// MambaLMHeadModel: Block without fused add-norm, Mamba.forward's slow path with
// selective_scan_ref, and Mamba.step for decoding):
//   x = E[token]                                  (the residual, kept in fp32)
//   per layer:  x += Mixer(RMSNorm(x) * g)
//   logits = lm_head · (RMSNorm(x) * g_f)         (lm_head = E when tied)
//   Mixer:  [xi, z] = W_in h                      (d_inner each)
//           u  = SiLU(causal depthwise conv1d(xi) + b_conv)   (width K, per channel)
//           [dt, B, C] = W_x u                    (dt_rank, d_state, d_state)
//           delta = softplus(W_dt dt + b_dt)
//           y  = selective scan (attention/linear/selective_scan.h) with A = -exp(A_log), D,
//                gated by SiLU(z)
//           out = W_out y
// The state per sequence and layer is the conv window (the last K - 1 inputs xi per channel) and
// the SSM state (d_state per channel), d_inner (K - 1 + d_state) floats, whatever the number of
// tokens read. Prompts are processed in chunks of up to StateOptions::max_batch tokens
// (projections as matrix-matrix products, the scan over the chunk), so memory does not grow
// with the prompt; a single token is the same computation with n = 1 (Mamba.step). The state
// is double-buffered, so a cancellation between layers leaves it at the previous chunk.
#pragma once

#include <memory>
#include <vector>

#include "models/causal_lm.h"
#include "models/mamba/mamba_weights.h"

namespace floe {

class MambaModel final : public CausalLm {
 public:
  // No trained context limit; the position limit floe imposes (fits the C API's int32).
  static constexpr size_t kMaxPositions = 0x7fffffff;

  // The network's tensors (views into a file) must outlive the model.
  static Result<std::unique_ptr<MambaModel>> Create(MambaNetwork network);

  std::string architecture() const override { return "mamba"; }
  size_t vocab_size() const override { return net_.config.vocab_size; }
  size_t context_length() const override { return kMaxPositions; }
  const MambaConfig& config() const { return net_.config; }
  const MambaWeights& weights() const { return net_.weights; }

  Result<std::unique_ptr<SequenceState>> NewState(const StateOptions& options) const override;
  Status Forward(SequenceState& state, std::span<const int32_t> tokens, LogitsMode mode,
                 float* logits, ThreadContext& threads,
                 const std::atomic<bool>* cancel) const override;

 private:
  explicit MambaModel(MambaNetwork n) : net_(std::move(n)) {}
  class State;
  Status ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode, float* logits,
                      ThreadContext& threads, const std::atomic<bool>* cancel) const;
  void Mixer(State& s, size_t l, size_t n, ThreadContext& threads) const;

  MambaNetwork net_;
};

}  // namespace floe
