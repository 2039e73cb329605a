// The RecurFormer forward pass (Yan et al. 2024, arXiv 2410.12850; recurformer_config.h): the
// Llama block (llama_model.h) in which, per layer,
//   h   = rms(x) * g_attn
//   att = [dense attention of the kept heads over their KV cache | Mamba-1 mixer(h) in the
//          replaced heads' slots]
//   x  += Wo · att
//   x  += Wdown · (silu(Wgate·rms(x)) * Wup·rms(x))
// Prompts go through in chunks of up to StateOptions::max_batch tokens; the mixers' state is
// double-buffered (models/mamba/mamba_mixer.h), so a cancelled chunk leaves it intact. The kept
// heads use dense attention, or each its own mode under a head plan (attention/head_plan.h)
// whose `recurrent` heads are exactly the heads the file replaces.
#pragma once

#include <memory>

#include "models/causal_lm.h"
#include "models/recurformer/recurformer_config.h"

namespace floe {

class RecurformerModel final : public CausalLm {
 public:
  // The network's tensor views (into a file) must outlive the model.
  static Result<std::unique_ptr<RecurformerModel>> Create(RecurformerNetwork network);

  std::string architecture() const override { return "recurformer"; }
  size_t vocab_size() const override { return net_.config.llama.vocab_size; }
  size_t context_length() const override { return net_.config.llama.context_length; }
  const RecurformerConfig& config() const { return net_.config; }
  // A plan must name the replaced heads `recurrent` and give the kept heads dense, knn or
  // window; NewState refuses anything else, naming the head.
  bool accepts_head_plan() const override { return true; }
  bool has_recurrent_heads() const override { return true; }
  const RecurformerWeights& weights() const { return net_.weights; }

  Result<std::unique_ptr<SequenceState>> NewState(const StateOptions& options) const override;
  Status Forward(SequenceState& state, std::span<const int32_t> tokens, LogitsMode mode,
                 float* logits, ThreadContext& threads,
                 const std::atomic<bool>* cancel) const override;

 private:
  explicit RecurformerModel(RecurformerNetwork n) : net_(std::move(n)) {}
  class State;
  Status ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode, float* logits,
                      ThreadContext& threads, const std::atomic<bool>* cancel) const;
  // att (n rows of q_dim) for layer l: the kept heads' attention and the mixer's slots.
  Status Heads(State& s, size_t l, size_t n, ThreadContext& threads) const;
  void FeedForward(State& s, size_t l, size_t n, ThreadContext& threads) const;

  RecurformerNetwork net_;
};

}  // namespace floe
