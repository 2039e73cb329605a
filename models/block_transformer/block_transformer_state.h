// The per-sequence state of BlockTransformerModel (internal to models/block_transformer).
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "attention/dense/kv_cache.h"
#include "models/block_transformer/block_transformer_model.h"
#include "models/block_transformer/gpt_neox_stack.h"
#include "platform/base/aligned_buffer.h"
#include "platform/base/state_io.h"

namespace floe {

// Per sequence: the tokens of the block being read, the block decoder's KV cache (one entry
// per complete block) and the token decoder's local cache (at most P + L_B - 1 positions,
// refilled when a block completes), plus the scratch of one chunk.
class BlockTransformerModel::State final : public SequenceState {
 public:
  size_t position() const override { return pos; }
  size_t capacity() const override { return cap; }
  size_t memory_bytes() const override {
    return blocks.bytes() + local.bytes() +
           (bs.buf.size() + ts.buf.size() + xb.size() + xt.size()) * sizeof(float);
  }
  // What the state holds at `positions` tokens, for the session's memory budget: scratch, the
  // block cache's rows of the complete blocks, and the local cache's rows used so far (none in
  // the first block, then the P prefix rows and up to L_B - 1 tokens); not the preallocation.
  size_t memory_bytes_at(size_t positions) const override {
    const size_t n = std::min(positions, cap), L = c.block_length;
    const size_t local_rows =
        n < L ? 0 : std::min(c.local_capacity(), c.expansion_ratio + std::min(n - L, L - 1));
    return 2 * blocks.n_layers() * blocks.prefix_bytes(n / L) +
           2 * local.n_layers() * local.prefix_bytes(local_rows) +
           (bs.buf.size() + ts.buf.size() + xb.size() + xt.size()) * sizeof(float);
  }
  void Reset() override {
    pos = 0;
    local_len = 0;
    std::fill(pending.begin(), pending.end(), 0);
  }
  std::vector<uint64_t> Shape() const {
    return {c.vocab_size,
            c.block_length,
            c.expansion_ratio,
            c.embedder_dim,
            c.block.hidden,
            c.block.layers,
            c.block.heads,
            c.token.hidden,
            c.token.layers,
            c.token.heads,
            uint64_t(options.kv_dtype)};
  }
  Status Save(std::vector<uint8_t>* out) const override {
    const auto shape = Shape();
    StateWriter w(out, "block-transformer", shape);
    w.PutU64(pos);
    w.PutU64(local_len);
    for (int32_t t : pending) w.PutU64(uint64_t(uint32_t(t)));
    blocks.SavePrefix(pos / c.block_length, w);
    local.SavePrefix(local_len, w);
    return Status::Ok();
  }
  Status Restore(std::span<const uint8_t> bytes) override {
    StateReader r(bytes);
    FLOE_RETURN_IF_ERROR(r.ReadHeader("block-transformer", Shape()));
    uint64_t p = 0, ll = 0;
    FLOE_RETURN_IF_ERROR(r.TakeU64(&p, cap, "position"));
    FLOE_RETURN_IF_ERROR(r.TakeU64(&ll, c.local_capacity(), "local cache length"));
    if (ll != ExpectedLocal(p))
      return InvalidArgument("Block Transformer state: local cache length " + std::to_string(ll) +
                             " does not match position " + std::to_string(p));
    std::vector<int32_t> toks(c.block_length);
    for (auto& t : toks) {
      uint64_t v = 0;
      FLOE_RETURN_IF_ERROR(r.TakeU64(&v, c.vocab_size - 1, "pending token"));
      t = int32_t(v);
    }
    // Into a fresh state first, so a failure leaves this one unchanged.
    State tmp;
    FLOE_RETURN_IF_ERROR(tmp.InitCaches(c, options, cap));
    FLOE_RETURN_IF_ERROR(tmp.blocks.RestorePrefix(p / c.block_length, r));
    FLOE_RETURN_IF_ERROR(tmp.local.RestorePrefix(ll, r));
    FLOE_RETURN_IF_ERROR(r.Finish());
    std::swap(blocks, tmp.blocks);
    std::swap(local, tmp.local);
    pending = std::move(toks);
    pos = p;
    local_len = ll;
    return Status::Ok();
  }
  Result<std::unique_ptr<SequenceState>> Clone() const override {
    auto copy = std::make_unique<State>();
    FLOE_RETURN_IF_ERROR(copy->Init(c, options, cap));
    FLOE_RETURN_IF_ERROR(copy->blocks.CopyPrefixFrom(blocks, pos / c.block_length));
    FLOE_RETURN_IF_ERROR(copy->local.CopyPrefixFrom(local, local_len));
    copy->pos = pos;
    copy->local_len = local_len;
    copy->pending = pending;
    return std::unique_ptr<SequenceState>(std::move(copy));
  }

  // Local cache positions after reading p tokens: none in the first block, else the P prefix
  // vectors and the tokens of the current block read so far.
  size_t ExpectedLocal(size_t p) const {
    return p < c.block_length ? 0 : c.expansion_ratio + p % c.block_length;
  }

  Status InitCaches(const BlockTransformerConfig& config, const StateOptions& opts, size_t n) {
    c = config;
    options = opts;
    cap = n;
    pending.assign(c.block_length, 0);
    FLOE_RETURN_IF_ERROR(blocks.Init(c.block.layers, c.block.heads, c.block.head_dim(),
                                     cap / c.block_length + 1, opts.kv_dtype));
    return local.Init(c.token.layers, c.token.heads, c.token.head_dim(), c.local_capacity(),
                      opts.kv_dtype);
  }
  // Blocks per block-decoder pass in prefill (bounds the block scratch).
  static constexpr size_t kBlockRows = 16;

  Status Init(const BlockTransformerConfig& config, const StateOptions& opts, size_t n) {
    FLOE_RETURN_IF_ERROR(InitCaches(config, opts, n));
    const size_t rows = c.local_capacity();
    FLOE_RETURN_IF_ERROR(bs.Init(c.block, kBlockRows));
    FLOE_RETURN_IF_ERROR(ts.Init(c.token, rows));
    FLOE_RETURN_IF_ERROR(
        xb.Resize(std::max(kBlockRows * c.block.hidden, c.expansion_ratio * c.token.hidden)));
    return xt.Resize(rows * c.token.hidden);
  }

  BlockTransformerConfig c;
  StateOptions options;
  size_t cap = 0, batch = 1, pos = 0, local_len = 0;
  std::vector<int32_t> pending;  // tokens of the current block, [0, pos % L_B)
  KvCache blocks, local;
  NeoxScratch bs, ts;
  AlignedBuffer<float> xb, xt;
};

}  // namespace floe
