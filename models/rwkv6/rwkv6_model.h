// RWKV-6 "Finch" (Peng et al. 2024, arXiv 2404.05892; BlinkDL x060 code is the reference
// arithmetic): a recurrent language model whose per-sequence state has a fixed size
// (per layer: two token-shift vectors and H heads of N x N WKV state), independent of how many
// tokens it has read.
//   x = LN0(emb[token])
//   per layer: x += TimeMix(LN1(x)), x += ChannelMix(LN2(x))
//   logits = head · LN_out(x)
// Prompts are processed in chunks of up to StateOptions::max_batch tokens: every projection as
// a matrix-matrix product, the WKV of the chunk in its parallel form (wkv6.h), the state carried
// from chunk to chunk. One token uses matrix-vector products and the recurrent form.
#pragma once

#include <memory>

#include "models/causal_lm.h"
#include "models/rwkv6/rwkv6_weights.h"

namespace floe {

class Rwkv6Model final : public CausalLm {
 public:
  // A recurrent model has no trained context limit; this is the position limit floe imposes
  // (it fits the C API's int32 positions).
  static constexpr size_t kMaxPositions = 0x7fffffff;

  // The network's tensors (views into a file) must outlive the model.
  static Result<std::unique_ptr<Rwkv6Model>> Create(Rwkv6Network network);

  std::string architecture() const override { return "rwkv6"; }
  size_t vocab_size() const override { return net_.config.vocab_size; }
  size_t context_length() const override { return kMaxPositions; }
  const Rwkv6Config& config() const { return net_.config; }
  const Rwkv6Network& network() const { return net_; }
  size_t weight_bytes() const { return net_.weights.bytes; }

  // The eight projections of every layer and the head (read only through MatVec / MatMul); the
  // vectors and LoRA matrices are owned copies, not file pages.
  MovableWeights Movable() override;
  Result<std::unique_ptr<SequenceState>> NewState(const StateOptions& options) const override;
  Status Forward(SequenceState& state, std::span<const int32_t> tokens, LogitsMode mode,
                 float* logits, ThreadContext& threads,
                 const std::atomic<bool>* cancel) const override;

 private:
  explicit Rwkv6Model(Rwkv6Network n) : net_(std::move(n)) {}
  class State;
  Status ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode, float* logits,
                      ThreadContext& threads, const std::atomic<bool>* cancel) const;
  void TimeMix(State& s, size_t l, size_t n, ThreadContext& threads) const;
  void ChannelMix(State& s, size_t l, size_t n, ThreadContext& threads) const;

  Rwkv6Network net_;
};

}  // namespace floe
