// The Llama forward pass (Touvron et al. 2023; llama2.c run.c is the reference arithmetic):
//   x = embed(token)
//   per layer: x += Wo · Attention(RoPE(Wq·rms(x)), RoPE(Wk·rms(x)), Wv·rms(x))
//              x += Wdown · (silu(Wgate·rms(x)) * Wup·rms(x))
//   logits = Wout · rms(x)
// Prompts are processed in chunks of up to StateOptions::max_batch tokens with matrix-matrix
// products; a single token uses matrix-vector products.
#pragma once

#include <memory>

#include "attention/dense/kv_cache.h"
#include "models/causal_lm.h"
#include "models/llama/llama_config.h"
#include "platform/base/aligned_buffer.h"
#include "platform/kernels/rope_scaling.h"

namespace floe {

class LlamaModel final : public CausalLm {
 public:
  // Validates config and weights (shapes, dtypes). The weights' memory must outlive the model.
  static Result<std::unique_ptr<LlamaModel>> Create(const LlamaConfig& config,
                                                    LlamaWeights weights);

  std::string architecture() const override { return config_.arch; }
  size_t vocab_size() const override { return config_.vocab_size; }
  size_t context_length() const override { return config_.usable_context(); }
  const LlamaConfig& config() const { return config_; }
  const LlamaWeights& weights() const { return weights_; }

  Result<std::unique_ptr<SequenceState>> NewState(const StateOptions& options) const override;
  bool accepts_head_plan() const override { return true; }
  // Products: every layer's projections, and the output matrix unless it is the (row-read)
  // embedding; others: the norms and biases.
  MovableWeights Movable() override;
  Status Forward(SequenceState& state, std::span<const int32_t> tokens, LogitsMode mode,
                 float* logits, ThreadContext& threads,
                 const std::atomic<bool>* cancel) const override;
  // Batched decode: every projection is one matrix-matrix product over the sequences, so each
  // weight is read once per step for all of them; RoPE, the KV cache and attention per sequence.
  Status ForwardEach(std::span<SequenceState* const> states, std::span<const int32_t> tokens,
                     float* logits, ThreadContext& threads,
                     const std::atomic<bool>* cancel) const override;

 private:
  LlamaModel(const LlamaConfig& c, LlamaWeights w);
  class State;
  struct SeqRows;  // rows of a batch that are consecutive tokens of one sequence
  struct Batch;    // rows of one or more sequences and their activations

  // Chunked prefill: n tokens of one sequence as one batch.
  Status ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode, float* logits,
                      ThreadContext& threads, const std::atomic<bool>* cancel) const;
  // The block written once for both paths (chunked prefill: one sequence, n rows; batched
  // decode: one row for each sequence): embeds the rows' tokens, runs every layer, advances each
  // sequence by its rows, and writes the logits of rows [first_logits, b.n) (none when
  // first_logits == b.n), one vocab_size row each.
  Status ForwardRows(const int32_t* tokens, const Batch& b, size_t first_logits, float* logits,
                     ThreadContext& threads, const std::atomic<bool>* cancel) const;
  // x += Wo · Attention(RoPE(Wq·rms(x)), RoPE(Wk·rms(x)), Wv·rms(x)) for every row of b, each
  // row's key and value stored in its sequence's cache at its position.
  Status AttentionBlock(size_t layer, const Batch& b, ThreadContext& threads) const;
  // Each sequence of b attends over its own cache: several sequences side by side when there
  // are at least as many as threads, else one after the other with their heads in parallel.
  Status AttendEach(size_t layer, const Batch& b, ThreadContext& threads) const;
  // x += Wdown · (silu(Wgate·rms(x)) * Wup·rms(x)) for every row of b.
  void FeedForwardBlock(size_t layer, const Batch& b, ThreadContext& threads) const;
  // logits = Wout · rms(x) for rows [first, b.n) of b.
  void OutputLogits(const Batch& b, size_t first, float* logits, ThreadContext& threads) const;
  // Attention of n query rows (q, n x q_dim) at positions s.pos.. over s's cache, dense or ice as
  // s was set up, into out (n x q_dim).
  Status Attend(State& s, size_t layer, size_t n, const float* q, float* out,
                ThreadContext* threads) const;

  // RoPE(q), RoPE(k) in place for one row at `pos`: llama2.c's RoPE when the file scales
  // nothing, else the scaled frequencies (rope_scaling.h).
  void ApplyRope(float* q, float* k, size_t pos) const;

  LlamaConfig config_;
  LlamaWeights weights_;
  bool rope_scaled_ = false;   // config_.rope_scaling() changes the rotation
  RopeFrequencies rope_;       // rope_scaled_ only
};

}  // namespace floe
