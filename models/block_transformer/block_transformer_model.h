// Block Transformer (arXiv 2406.02657) with the lookup embedder, a GPT-NeoX block decoder and
// a GPT-NeoX token decoder using the 'prefix' strategy, computing what the official
// BlockTransformer.forward() computes (itsnamgyu/block-transformer, model/block_transformer.py):
//
//   tokens are grouped into blocks of L_B from position 0 (block b = positions b L_B ...);
//   block embedding e_b = concat(lookup[t] for the L_B tokens of block b)     (embedder/lookup.py)
//   g_b = BlockDecoder(e_0..e_b)[b]   causal over blocks, own KV cache, block positions 0, 1, ..
//   prefix_b = reshape(W_exp g_b + b_exp, P x D_t)           (Conv1d kernel 1,
//   expand_block_embeddings) block b+1's token decoder reads [prefix_b, embed_in(t_0 .. t_{L_B-2})]
//   at local positions 0 .. P + L_B - 2 (forward()'s position ids); output P-1 predicts t_0, output
//   P+k predicts t_{k+1}; logits = embed_out(LN_final(.)).
//
// Position convention: forward()'s (the prefix at positions 0..P-1, token k of a block at P+k),
// which logits.f32 and step_logits.f32 of the reference follow. The official generate() gives
// both prefix vectors position 0 and token k position k+1 (transformers builds its position ids
// from a mask that does not count the prefix); floe does not reproduce that.
//
// Streaming: the logits row of position p predicts token p+1. Positions 0 .. L_B-2 have no
// prediction in the official model (the first block gets no logits); floe writes zero rows
// there (first_predicted_position() = L_B - 1). When a block completes (its last token is
// read), the block decoder runs once for it, the local cache is dropped and refilled with the
// P prefix vectors; the last token of a block is never fed to the token decoder. So the local
// cache holds at most P + L_B - 1 positions and the block cache one entry per complete block.
// Prompts that end mid-block continue that block on decode. No padding is added: a prompt is
// read as the official forward() reads block-aligned input (generate() left-pads a prompt to a
// block multiple; feed such padding yourself to reproduce it).
#pragma once

#include <memory>
#include <vector>

#include "models/block_transformer/block_transformer_weights.h"
#include "models/causal_lm.h"

namespace floe {

class BlockTransformerModel final : public CausalLm {
 public:
  static Result<std::unique_ptr<BlockTransformerModel>> Create(BlockTransformerNetwork network);

  std::string architecture() const override { return "block-transformer"; }
  size_t vocab_size() const override { return net_.config.vocab_size; }
  size_t context_length() const override { return net_.config.context_length; }
  size_t first_predicted_position() const override { return net_.config.block_length - 1; }
  const BlockTransformerConfig& config() const { return net_.config; }
  const BlockTransformerWeights& weights() const { return net_.weights; }

  Result<std::unique_ptr<SequenceState>> NewState(const StateOptions& options) const override;
  Status Forward(SequenceState& state, std::span<const int32_t> tokens, LogitsMode mode,
                 float* logits, ThreadContext& threads,
                 const std::atomic<bool>* cancel) const override;
  // Each weight read once for all sequences: one block-decoder pass over the sequences whose
  // block completes, one token-decoder pass over every row (a completing sequence's P prefix
  // vectors, or the one new token), one head product.
  Status ForwardEach(std::span<SequenceState* const> states, std::span<const int32_t> tokens,
                     float* logits, ThreadContext& threads,
                     const std::atomic<bool>* cancel) const override;

  // Inspection for tests and benchmarks: positions held in the state's local (token decoder)
  // cache and entries in its block cache; kInvalidArgument for another model's state.
  Result<size_t> LocalCacheLength(const SequenceState& state) const;
  Result<size_t> BlockCacheLength(const SequenceState& state) const;

  class State;

 private:
  explicit BlockTransformerModel(BlockTransformerNetwork n) : net_(std::move(n)) {}
  Status ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode, float* logits,
                      ThreadContext& threads) const;
  // Prefill without per-token logits: reads tokens that complete blocks, runs the block decoder
  // over the complete blocks kBlockRows at a time, and the token decoder only for the last
  // complete block's prefix (the local caches of earlier blocks would be dropped unread, as the
  // paper notes for prompts, section 2.3). pos + n must be a block boundary. With `last_logits`
  // writes the logits of the last token (prefix row P - 1).
  Status PrefillBlocks(State& s, const int32_t* tokens, size_t n, float* last_logits,
                       ThreadContext& threads, const std::atomic<bool>* cancel) const;
  // Block embedding of the state's pending block into x (D_b floats).
  void EmbedBlock(const State& s, float* x) const;

  BlockTransformerNetwork net_;
};

}  // namespace floe
