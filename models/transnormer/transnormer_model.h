// TransNormerLLM (Qin et al. 2023, arXiv 2307.14995; the arithmetic of the official Hugging
// Face modeling_transnormer.py, eval path): a linear-attention language model whose state per
// sequence is, per layer, H matrices of d_k x d_v fp32 (d_k = 2 d_h on LRPE layers), whatever
// the number of tokens read.
//   x = E[token] * sqrt(D)                           (unless no_scale_embedding)
//   per layer:  x += TokenMixer(SRMSNorm(x));  x += SGLU(SRMSNorm(x))
//   logits = lm_head · SRMSNorm(x)
//   SRMSNorm(x) = x / sqrt(mean(x^2) + 1e-6)                          (paper eq. 8, no gain)
//   TokenMixer: q, k, v, u = split(W_qkvu x);  q, k = act(q), act(k)  (silu by default)
//               on LRPE layers, per head: q_t -> [q_t cos(theta t), q_t sin(theta t)], k alike
//               (LRPE, paper eq. 3; t = absolute position, kept in the state)
//               o = decayed causal linear attention (attention/linear/lightning_attention.h) with
//               lambda_h = exp(-slope_h (1 - l/(L-1) + 1e-5))               (paper eq. 4-5)
//               out = W_out (u * SRMSNorm(o over all heads))
//   SGLU (paper eq. 9, no activation): l3((l1 x) * (l2 x))
// Prompts are processed in chunks of up to StateOptions::max_batch tokens, each chunk one
// Lightning block (projections as matrix-matrix products); a single token takes the recurrent
// form. The state is double-buffered, so a cancellation between layers leaves it intact.
#pragma once

#include <memory>
#include <vector>

#include "models/causal_lm.h"
#include "models/transnormer/transnormer_weights.h"

namespace floe {

class TransnormerModel final : public CausalLm {
 public:
  // No trained context limit; the position limit floe imposes (fits the C API's int32).
  static constexpr size_t kMaxPositions = 0x7fffffff;
  // A sequence's state may take up to 4x the weight bytes, and at least this much, whatever
  // the weights (tiny test models).
  static constexpr size_t kStateFloorBytes = size_t(64) << 20;

  // The network's tensors (views into a file) must outlive the model.
  static Result<std::unique_ptr<TransnormerModel>> Create(TransnormerNetwork network);

  std::string architecture() const override { return "transnormer"; }
  size_t vocab_size() const override { return net_.config.vocab_size; }
  size_t context_length() const override { return kMaxPositions; }
  const TransnormerConfig& config() const { return net_.config; }
  size_t weight_bytes() const { return net_.weights.bytes; }
  // log lambda of head h in layer l (= -TransnormerDecayRate).
  float log_decay(size_t layer, size_t head) const {
    return log_decay_[layer * net_.config.n_heads + head];
  }

  // The five projections of every layer and an untied head (read only through MatMul); theta is
  // an owned copy and the model has no other vectors.
  MovableWeights Movable() override;
  Result<std::unique_ptr<SequenceState>> NewState(const StateOptions& options) const override;
  Status Forward(SequenceState& state, std::span<const int32_t> tokens, LogitsMode mode,
                 float* logits, ThreadContext& threads,
                 const std::atomic<bool>* cancel) const override;

 private:
  explicit TransnormerModel(TransnormerNetwork n);
  class State;
  Status ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode, float* logits,
                      ThreadContext& threads, const std::atomic<bool>* cancel) const;
  void TokenMixer(State& s, size_t l, size_t n, ThreadContext& threads) const;
  void ChannelMixer(State& s, size_t l, size_t n, ThreadContext& threads) const;

  TransnormerNetwork net_;
  std::vector<float> log_decay_;  // [layer][head]
};

}  // namespace floe
