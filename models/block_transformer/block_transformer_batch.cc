// BlockTransformerModel::ForwardEach: one decode step for several sequences, each weight read
// once for all of them (see block_transformer_model.h).
#include <algorithm>
#include <cstring>
#include <string>

#include "models/block_transformer/block_transformer_model.h"
#include "models/block_transformer/block_transformer_state.h"
#include "models/block_transformer/gpt_neox_stack.h"

namespace floe {

Status BlockTransformerModel::ForwardEach(std::span<SequenceState* const> base,
                                          std::span<const int32_t> tokens, float* logits,
                                          ThreadContext& threads,
                                          const std::atomic<bool>* cancel) const {
  const BlockTransformerConfig& c = net_.config;
  const BlockTransformerWeights& w = net_.weights;
  const size_t B = base.size(), L = c.block_length, P = c.expansion_ratio, V = c.vocab_size,
               Db = c.block.hidden, Dt = c.token.hidden;
  if (B != tokens.size())
    return InvalidArgument("ForwardEach: " + std::to_string(B) + " states but " +
                           std::to_string(tokens.size()) + " tokens");
  if (logits == nullptr) return InvalidArgument("ForwardEach: logits buffer is null");
  std::vector<State*> st(B);
  for (size_t i = 0; i < B; ++i) {
    st[i] = dynamic_cast<State*>(base[i]);
    if (st[i] == nullptr)
      return InvalidArgument("ForwardEach: state " + std::to_string(i) +
                             " does not belong to a Block Transformer model");
    for (size_t j = 0; j < i; ++j)
      if (st[j] == st[i])
        return InvalidArgument("ForwardEach: state " + std::to_string(i) + " appears twice");
    if (st[i]->pos >= st[i]->cap)
      return OutOfRange("ForwardEach: sequence " + std::to_string(i) + " is full (" +
                        std::to_string(st[i]->pos) + " tokens)");
    if (tokens[i] < 0 || size_t(tokens[i]) >= V)
      return OutOfRange("token id " + std::to_string(tokens[i]) + " outside the vocabulary [0, " +
                        std::to_string(V) + ")");
  }
  if (B == 0) return Status::Ok();
  if (cancel && cancel->load(std::memory_order_relaxed)) return Cancelled("evaluation cancelled");

  // Which sequences complete a block (block decoder + a new prefix), which feed one token.
  std::vector<size_t> done;  // completing sequences
  size_t rows = 0;           // token-decoder rows
  for (size_t i = 0; i < B; ++i) {
    if (st[i]->pos % L == L - 1) {
      done.push_back(i);
      rows += P;
    } else if (st[i]->pos >= L) {
      rows += 1;
    }
  }
  NeoxScratch bs, ts;
  AlignedBuffer<float> xb, xt, heads;
  const size_t nd = done.size();
  FLOE_RETURN_IF_ERROR(bs.Init(c.block, std::max<size_t>(nd, 1)));
  FLOE_RETURN_IF_ERROR(ts.Init(c.token, std::max<size_t>(rows, 1)));
  FLOE_RETURN_IF_ERROR(xb.Resize(std::max<size_t>(nd, 1) * std::max(Db, P * Dt)));
  FLOE_RETURN_IF_ERROR(xt.Resize(std::max<size_t>(rows, 1) * Dt));
  FLOE_RETURN_IF_ERROR(heads.Resize(B * Dt));
  std::vector<KvCache*> caches(std::max(nd, rows));
  std::vector<size_t> pos(std::max(nd, rows));

  // Block decoder over the completing sequences' blocks, then the expansion layer.
  for (size_t r = 0; r < nd; ++r) {
    State& s = *st[done[r]];
    s.pending[L - 1] = tokens[done[r]];
    EmbedBlock(s, xb.data() + r * Db);
    caches[r] = &s.blocks;
    pos[r] = s.pos / L;
  }
  if (nd > 0) NeoxForward(c.block, w.block, nd, xb.data(), caches.data(), pos.data(), bs, threads);
  AlignedBuffer<float> prefix;
  FLOE_RETURN_IF_ERROR(prefix.Resize(std::max<size_t>(nd, 1) * P * Dt));
  if (nd > 0) NeoxLinear(w.expand, w.expand_b, xb.data(), nd, prefix.data(), threads);

  // Token decoder over every row: a completing sequence's P prefix vectors at local positions
  // 0..P-1 (its local cache dropped), or the one new token at P + pos % L.
  std::vector<size_t> head_row(B, SIZE_MAX);  // token-decoder row giving sequence i's logits
  size_t r = 0, d = 0;
  for (size_t i = 0; i < B; ++i) {
    State& s = *st[i];
    if (d < nd && done[d] == i) {
      std::memcpy(xt.data() + r * Dt, prefix.data() + d * P * Dt, P * Dt * sizeof(float));
      for (size_t j = 0; j < P; ++j) {
        caches[r + j] = &s.local;
        pos[r + j] = j;
      }
      r += P;
      head_row[i] = r - 1;
      ++d;
    } else if (s.pos >= L) {
      ToF32(w.token_embed, size_t(tokens[i]) * Dt, Dt, xt.data() + r * Dt);
      caches[r] = &s.local;
      pos[r] = s.local_len;
      head_row[i] = r++;
    }
  }
  if (rows > 0)
    NeoxForward(c.token, w.token, rows, xt.data(), caches.data(), pos.data(), ts, threads);

  // One head product over the rows that predict, scattered to each sequence's logits row.
  size_t nh = 0;
  for (size_t i = 0; i < B; ++i)
    if (head_row[i] != SIZE_MAX)
      std::memcpy(heads.data() + nh++ * Dt, xt.data() + head_row[i] * Dt, Dt * sizeof(float));
  AlignedBuffer<float> out;
  FLOE_RETURN_IF_ERROR(out.Resize(std::max<size_t>(nh, 1) * V));
  if (nh > 0) NeoxLinear(w.head, nullptr, heads.data(), nh, out.data(), threads);
  for (size_t i = 0, h = 0; i < B; ++i) {
    float* row = logits + i * V;
    if (head_row[i] == SIZE_MAX)
      std::fill(row, row + V, 0.0f);
    else
      std::memcpy(row, out.data() + h++ * V, V * sizeof(float));
  }

  // Advance every state.
  for (size_t i = 0, dd = 0; i < B; ++i) {
    State& s = *st[i];
    if (dd < nd && done[dd] == i) {
      s.local_len = P;
      ++dd;
    } else {
      s.pending[s.pos % L] = tokens[i];
      if (s.pos >= L) ++s.local_len;
    }
    ++s.pos;
  }
  return Status::Ok();
}

}  // namespace floe
