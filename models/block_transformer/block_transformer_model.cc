#include "models/block_transformer/block_transformer_model.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "models/block_transformer/block_transformer_state.h"
#include "models/block_transformer/gpt_neox_stack.h"

namespace floe {

Result<std::unique_ptr<BlockTransformerModel>> BlockTransformerModel::Create(
    BlockTransformerNetwork network) {
  FLOE_RETURN_IF_ERROR(network.config.Validate());
  if (network.weights.block.layers.size() != network.config.block.layers ||
      network.weights.token.layers.size() != network.config.token.layers)
    return InvalidArgument("Block Transformer weights do not match the config's layer counts");
  return std::unique_ptr<BlockTransformerModel>(new BlockTransformerModel(std::move(network)));
}

Result<std::unique_ptr<SequenceState>> BlockTransformerModel::NewState(
    const StateOptions& options) const {
  if (options.attention.backend != AttentionBackend::kDense)
    return InvalidArgument("Block Transformer: only the dense attention backend applies");
  if (options.kv_dtype != DType::kF32 && options.kv_dtype != DType::kF16)
    return InvalidArgument("Block Transformer: the KV cache type must be f32 or f16");
  const size_t cap = options.context_length ? options.context_length : net_.config.context_length;
  if (cap > (size_t(1) << 30))
    return InvalidArgument("context length " + std::to_string(cap) + " is implausibly large");
  auto s = std::make_unique<State>();
  FLOE_RETURN_IF_ERROR(s->Init(net_.config, options, cap));
  s->batch = std::max<size_t>(1, options.max_batch);
  return std::unique_ptr<SequenceState>(std::move(s));
}

Result<size_t> BlockTransformerModel::LocalCacheLength(const SequenceState& base) const {
  const State* s = dynamic_cast<const State*>(&base);
  if (s == nullptr) return InvalidArgument("not a Block Transformer state");
  return s->local_len;
}

Result<size_t> BlockTransformerModel::BlockCacheLength(const SequenceState& base) const {
  const State* s = dynamic_cast<const State*>(&base);
  if (s == nullptr) return InvalidArgument("not a Block Transformer state");
  return s->pos / net_.config.block_length;
}

void BlockTransformerModel::EmbedBlock(const State& s, float* x) const {
  // LookupEmbedder.forward + BaseEmbedder.project_hidden_state("concat"): the L_B lookups
  // concatenated in token order.
  const size_t E = net_.config.embedder_dim;
  for (size_t i = 0; i < net_.config.block_length; ++i)
    ToF32(net_.weights.lookup, size_t(s.pending[i]) * E, E, x + i * E);
}

Status BlockTransformerModel::Forward(SequenceState& base, std::span<const int32_t> tokens,
                                      LogitsMode mode, float* logits, ThreadContext& threads,
                                      const std::atomic<bool>* cancel) const {
  State* s = dynamic_cast<State*>(&base);
  if (s == nullptr)
    return InvalidArgument("sequence state does not belong to a Block Transformer model");
  const size_t L = net_.config.block_length;
  if (mode != LogitsMode::kAll && !tokens.empty()) {
    // Only the last complete block's prefix and the tokens after it need the token decoder.
    FLOE_RETURN_IF_ERROR(ForwardInChunks(tokens, LogitsMode::kNone, nullptr, net_.config.vocab_size,
                                         s->pos, s->cap, tokens.size(),
                                         [](const int32_t*, size_t, LogitsMode, float*) {
                                           return Status::Ok();
                                         }));  // argument checks only
    const size_t end = s->pos + tokens.size();
    const size_t keep_from = end / L * L;
    if (keep_from > s->pos) {
      const size_t m = keep_from - s->pos;
      const bool last = m == tokens.size() && mode == LogitsMode::kLast;
      FLOE_RETURN_IF_ERROR(
          PrefillBlocks(*s, tokens.data(), m, last ? logits : nullptr, threads, cancel));
      tokens = tokens.subspan(m);
      if (tokens.empty()) return Status::Ok();
    }
  }
  return ForwardInChunks(tokens, mode, logits, net_.config.vocab_size, s->pos, s->cap, s->batch,
                         [&](const int32_t* t, size_t n, LogitsMode m, float* out) -> Status {
                           if (cancel && cancel->load(std::memory_order_relaxed))
                             return Cancelled("evaluation cancelled");
                           return ForwardChunk(*s, t, n, m, out, threads);
                         });
}

Status BlockTransformerModel::PrefillBlocks(State& s, const int32_t* tokens, size_t n,
                                            float* last_logits, ThreadContext& threads,
                                            const std::atomic<bool>* cancel) const {
  const BlockTransformerConfig& c = net_.config;
  const BlockTransformerWeights& w = net_.weights;
  const size_t L = c.block_length, P = c.expansion_ratio, Db = c.block.hidden, Dt = c.token.hidden;
  const size_t R = State::kBlockRows;
  std::vector<KvCache*> caches(std::max(R, P), &s.blocks);
  std::vector<size_t> positions(std::max(R, P));
  size_t i = 0, rows = 0;
  float* last_out = nullptr;  // block-decoder output of the last complete block
  // Cancellation only before any change: a state between blocks without its prefix would not
  // be one the official model can be in.
  if (cancel && cancel->load(std::memory_order_relaxed)) return Cancelled("evaluation cancelled");
  while (i < n) {
    // Up to R blocks: embeddings of the blocks these tokens complete.
    rows = 0;
    const size_t first_block = s.pos / L;
    while (i < n && rows < R) {
      const size_t take = L - s.pos % L;  // tokens to the block's end (n ends on a boundary)
      for (size_t j = 0; j < take; ++j) s.pending[s.pos % L + j] = tokens[i + j];
      EmbedBlock(s, s.xb.data() + rows * Db);
      positions[rows] = first_block + rows;
      ++rows;
      s.pos += take;
      i += take;
    }
    NeoxForward(c.block, w.block, rows, s.xb.data(), caches.data(), positions.data(), s.bs,
                threads);
    last_out = s.xb.data() + (rows - 1) * Db;
  }
  // The last block's prefix refills the local cache (positions 0..P-1).
  NeoxLinear(w.expand, w.expand_b, last_out, 1, s.xt.data(), threads);
  for (size_t j = 0; j < P; ++j) {
    caches[j] = &s.local;
    positions[j] = j;
  }
  NeoxForward(c.token, w.token, P, s.xt.data(), caches.data(), positions.data(), s.ts, threads);
  s.local_len = P;
  if (last_logits != nullptr)
    NeoxLinear(w.head, nullptr, s.xt.data() + (P - 1) * Dt, 1, last_logits, threads);
  return Status::Ok();
}

Status BlockTransformerModel::ForwardChunk(State& s, const int32_t* tokens, size_t n,
                                           LogitsMode mode, float* logits,
                                           ThreadContext& threads) const {
  const BlockTransformerConfig& c = net_.config;
  const BlockTransformerWeights& w = net_.weights;
  const size_t L = c.block_length, P = c.expansion_ratio, Dt = c.token.hidden, V = c.vocab_size;
  // Logits for chunk tokens [first, first + count) from `count` consecutive token-decoder rows
  // (nullptr rows: no prediction, zero rows).
  auto emit = [&](const float* rows, size_t count, size_t first) {
    if (mode == LogitsMode::kNone) return;
    size_t lo = first, hi = first + count;
    float* out = logits + first * V;
    if (mode == LogitsMode::kLast) {
      if (n - 1 < lo || n - 1 >= hi) return;
      if (rows) rows += (n - 1 - first) * Dt;
      lo = n - 1;
      hi = n;
      out = logits;
    }
    if (rows == nullptr)
      std::fill(out, out + (hi - lo) * V, 0.0f);
    else
      NeoxLinear(w.head, nullptr, rows, hi - lo, out, threads);
  };
  std::vector<size_t> positions(c.local_capacity());
  std::vector<KvCache*> caches(c.local_capacity(), &s.local);
  for (size_t i = 0; i < n;) {
    const size_t k = s.pos % L;
    if (k == L - 1) {
      // The block completes: one block-decoder step (GPTNeoXBlockDecoder over the block
      // embedding at block position pos / L), then the expansion Conv1d of its output
      // (BaseTokenDecoder.expand_block_embeddings) gives the next block's P prefix vectors.
      s.pending[k] = tokens[i];
      EmbedBlock(s, s.xb.data());
      KvCache* bc = &s.blocks;
      const size_t bpos = s.pos / L;
      NeoxForward(c.block, w.block, 1, s.xb.data(), &bc, &bpos, s.bs, threads);
      NeoxLinear(w.expand, w.expand_b, s.xb.data(), 1, s.xt.data(), threads);
      // The local cache is dropped; the prefix and the next block's first tokens in this chunk
      // go through the token decoder together at local positions 0, 1, ...
      const size_t m = std::min(n - i - 1, L - 1);
      for (size_t j = 0; j < m; ++j) {
        ToF32(w.token_embed, size_t(tokens[i + 1 + j]) * Dt, Dt, s.xt.data() + (P + j) * Dt);
        s.pending[j] = tokens[i + 1 + j];
      }
      const size_t rows = P + m;
      for (size_t r = 0; r < rows; ++r) positions[r] = r;
      NeoxForward(c.token, w.token, rows, s.xt.data(), caches.data(), positions.data(), s.ts,
                  threads);
      s.local_len = rows;
      emit(s.xt.data() + (P - 1) * Dt, m + 1, i);  // prefix P-1 predicts the block's t_0
      s.pos += 1 + m;
      i += 1 + m;
    } else {
      const size_t m = std::min(n - i, L - 1 - k);
      if (s.pos >= L) {
        for (size_t j = 0; j < m; ++j) {
          ToF32(w.token_embed, size_t(tokens[i + j]) * Dt, Dt, s.xt.data() + j * Dt);
          positions[j] = s.local_len + j;  // = P + k + j
        }
        NeoxForward(c.token, w.token, m, s.xt.data(), caches.data(), positions.data(), s.ts,
                    threads);
        s.local_len += m;
        emit(s.xt.data(), m, i);
      } else {
        emit(nullptr, m, i);  // the first block: no prediction (official forward())
      }
      for (size_t j = 0; j < m; ++j) s.pending[k + j] = tokens[i + j];
      s.pos += m;
      i += m;
    }
  }
  return Status::Ok();
}

}  // namespace floe
