// The Llama forward pass (Touvron et al. 2023; llama2.c run.c is the reference arithmetic):
//   x = embed(token)
//   per layer: x += Wo · Attention(RoPE(Wq·rms(x)), RoPE(Wk·rms(x)), Wv·rms(x))
//              x += Wdown · (silu(Wgate·rms(x)) * Wup·rms(x))
//   logits = Wout · rms(x)
// Prompts are processed in chunks of up to StateOptions::max_batch tokens with matrix-matrix
// products; a single token uses matrix-vector products.
#pragma once

#include <memory>

#include "attention/kv_cache.h"
#include "models/causal_lm.h"
#include "models/llama/llama_config.h"
#include "platform/aligned_buffer.h"

namespace floe {

class LlamaModel final : public CausalLm {
 public:
  // Validates config and weights (shapes, dtypes). The weights' memory must outlive the model.
  static Result<std::unique_ptr<LlamaModel>> Create(const LlamaConfig& config, LlamaWeights weights);

  std::string architecture() const override { return config_.arch; }
  size_t vocab_size() const override { return config_.vocab_size; }
  size_t context_length() const override { return config_.context_length; }
  const LlamaConfig& config() const { return config_; }
  const LlamaWeights& weights() const { return weights_; }

  Result<std::unique_ptr<SequenceState>> NewState(const StateOptions& options) const override;
  Status Forward(SequenceState& state, std::span<const int32_t> tokens, LogitsMode mode,
                 float* logits, ThreadContext& threads,
                 const std::atomic<bool>* cancel) const override;
  // Batched decode: every projection is one matrix-matrix product over the sequences, so each
  // weight is read once per step for all of them; RoPE, the KV cache and attention per sequence.
  Status ForwardEach(std::span<SequenceState* const> states, std::span<const int32_t> tokens,
                     float* logits, ThreadContext& threads,
                     const std::atomic<bool>* cancel) const override;

 private:
  LlamaModel(const LlamaConfig& c, LlamaWeights w) : config_(c), weights_(std::move(w)) {}
  class State;
  Status ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode, float* logits,
                      ThreadContext& threads, const std::atomic<bool>* cancel) const;
  // Attention of layer `layer` for the chunk's n queries (dense or ice, per the state).
  // Attention of n query rows (q, n x q_dim) at positions s.pos.. over s's cache, dense or ice as
  // s was set up, into out (n x q_dim).
  Status Attend(State& s, size_t layer, size_t n, const float* q, float* out, ThreadContext* threads) const;

  LlamaConfig config_;
  LlamaWeights weights_;
};

}  // namespace floe
