// The per-sequence state of a GoldfinchModel (internal to models/goldfinch):
//   fixed part, double-buffered (layers read buffer `cur`, write `cur ^ 1`, the swap happens
//   when a chunk is complete, so a cancelled chunk leaves the previous state intact):
//     per Finch-C2 layer: time-mix shift [C], channel-mix shift [C], WKV [H][N][N]
//     per GOLD layer: time-mix shift [C], channel-mix shift [C] (exact for position gold_pos-1)
//     ring: the first GOLD layer's input of the last 2G positions (row p % 2G for position p)
//   the TokenCat cache: token id + D/16 values per position
//   optional (AttentionSettings::gold_kv_cache, or a kNN backend): the GOLD layers' keys and
//   values of positions [0, kv_rows), a speed cache; not saved: a restored state rebuilds it
//   from the TokenCat cache in its next Forward (kv_rows = 0), which keeps saved states small
//   kNN backend: the kNN index over those keys (not saved: rebuilt from them as the searches
//   need) and the candidates shared in the current search blocks (saved after the cache)
//   scratch for one chunk (not saved).
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "attention/gold/gold_kv_cache.h"
#include "attention/gold/tokencat_cache.h"
#include "attention/knn/ice_attention.h"
#include "attention/knn/knn_index_set.h"
#include "attention/knn/shared_candidates.h"
#include "models/goldfinch/goldfinch_model.h"
#include "platform/base/aligned_buffer.h"
#include "platform/base/state_io.h"

namespace floe {

class GoldfinchModel::State final : public SequenceState {
 public:
  // Key positions rebuilt at a time by the GOLD layers (bounds the scratch, not the result).
  static constexpr size_t kKeyBlock = 128;

  size_t position() const override { return pos; }
  size_t capacity() const override { return cap; }
  size_t memory_bytes() const override {
    return (fixed[0].size() + fixed[1].size() + scratch.size()) * sizeof(float) +
           cache.memory_bytes() + speed_cache_bytes() + (knn ? index.bytes() + shared.bytes() : 0);
  }
  // What the state holds at `positions` tokens, for the session's memory budget: the fixed part
  // and scratch, the TokenCat cache's rows (or the capacity it holds now, if more), the speed
  // cache's rows when on, and a kNN index as it is plus the keys still to come (at its bytes per
  // key now, one f32 key per position before it holds any). Not the speed cache's reserve.
  size_t memory_bytes_at(size_t positions) const override {
    const size_t n = std::min(positions, cap);
    size_t bytes = (fixed[0].size() + fixed[1].size() + scratch.size()) * sizeof(float) +
                   std::max(cache.memory_bytes(), n * cache.bytes_per_token());
    if (kv_on) bytes += n * kv.bytes_per_token();
    if (knn) {
      const size_t keys = c.n_gold() * c.n_head, held = index.bytes() + shared.bytes();
      const size_t per_key = pos > 0 && held > 0 ? held / (pos * keys) + 1 : c.head_size * sizeof(float);
      bytes += held + (n > pos ? (n - pos) * keys * per_key : 0);
    }
    return bytes;
  }
  // Bytes held by the GOLD key/value speed cache (its capacity; 0 when off).
  size_t speed_cache_bytes() const { return kv.bytes(); }
  void Reset() override {
    pos = 0;
    kv_rows = 0;
    gold_pos[cur] = 0;
    std::fill(fixed[cur].data(), fixed[cur].data() + fixed[cur].size(), 0.0f);
    cache.Truncate(0);
    index.Clear();
    shared.Clear();
  }
  std::vector<uint64_t> Shape() const {
    return {c.n_layer,  c.first_gold_layer,     c.n_embd, c.n_head, c.head_size,
            c.kv_a_dim, uint64_t(cache.dtype())};
  }
  Status Save(std::vector<uint8_t>* out) const override {
    const auto shape = Shape();
    StateWriter w(out, "goldfinch", shape);
    w.PutU64(pos);
    w.PutU64(gold_pos[cur]);
    w.PutRaw(fixed[cur].data(), fixed[cur].size() * sizeof(float));
    w.PutRaw(cache.ids().data(), pos * sizeof(int32_t));
    w.PutRaw(cache.raw_values().data(), pos * cache.dim() * DTypeBytes(cache.dtype(), 1));
    if (knn) shared.Save(w);
    return Status::Ok();
  }
  Status Restore(std::span<const uint8_t> bytes) override {
    StateReader r(bytes);
    FLOE_RETURN_IF_ERROR(r.ReadHeader("goldfinch", Shape()));
    uint64_t n = 0, g = 0;
    FLOE_RETURN_IF_ERROR(r.TakeU64(&n, cap, "position"));
    FLOE_RETURN_IF_ERROR(r.TakeU64(&g, n, "GOLD position"));
    const size_t fixed_bytes = fixed[cur].size() * sizeof(float);
    const size_t per_token = sizeof(int32_t) + cache.dim() * DTypeBytes(cache.dtype(), 1);
    if (r.remaining() < fixed_bytes || (r.remaining() - fixed_bytes) / per_token < n)
      return InvalidArgument("GoldFinch state has " + std::to_string(r.remaining()) +
                             " bytes after its header, expected " +
                             std::to_string(fixed_bytes + n * per_token) + " for " +
                             std::to_string(n) + " tokens");
    // The optional section after the cache (a kNN session's shared candidates), checked first;
    // a session without a kNN backend skips it.
    const size_t tail = r.remaining() - fixed_bytes - n * per_token;
    ice::SharedCandidates restored;
    if (knn) restored.Init(c.n_gold(), c.n_head, options.attention.search_block);
    if (tail > 0) FLOE_RETURN_IF_ERROR(restored.Restore(bytes.subspan(bytes.size() - tail), n));
    std::vector<float> f(fixed[cur].size());
    std::vector<int32_t> ids(n);
    std::vector<uint8_t> values(n * (per_token - sizeof(int32_t)));
    FLOE_RETURN_IF_ERROR(r.TakeRaw(f.data(), fixed_bytes, "recurrent state"));
    FLOE_RETURN_IF_ERROR(r.TakeRaw(ids.data(), n * sizeof(int32_t), "cached token ids"));
    FLOE_RETURN_IF_ERROR(r.TakeRaw(values.data(), values.size(), "cached values"));
    for (int32_t id : ids)
      if (id < 0 || size_t(id) >= c.vocab_size)
        return InvalidArgument("GoldFinch state holds token id " + std::to_string(id) +
                               " outside the vocabulary");
    FLOE_RETURN_IF_ERROR(cache.Assign(ids, values));
    std::memcpy(fixed[cur].data(), f.data(), fixed_bytes);
    pos = n;
    gold_pos[cur] = g;
    kv_rows = 0;  // the speed cache is rebuilt by the next Forward
    index.Clear();
    if (knn) shared = std::move(restored);
    return Status::Ok();
  }
  Result<std::unique_ptr<SequenceState>> Clone() const override {
    auto copy = std::make_unique<State>();
    FLOE_RETURN_IF_ERROR(copy->Init(c, options));
    std::memcpy(copy->fixed[copy->cur].data(), fixed[cur].data(),
                fixed[cur].size() * sizeof(float));
    FLOE_RETURN_IF_ERROR(copy->cache.Assign(
        cache.ids().subspan(0, pos),
        cache.raw_values().subspan(0, pos * cache.dim() * DTypeBytes(cache.dtype(), 1))));
    copy->pos = pos;
    copy->gold_pos[copy->cur] = gold_pos[cur];
    if (const size_t rows = std::min(kv_rows, pos); kv_on && rows > 0) {
      FLOE_RETURN_IF_ERROR(copy->kv.Reserve(rows, 0));
      FLOE_RETURN_IF_ERROR(copy->kv.kv().CopyPrefixFrom(kv.kv(), rows));
      copy->kv_rows = rows;
    }
    if (knn) {
      FLOE_RETURN_IF_ERROR(copy->index.CopyFrom(index));
      copy->shared = shared;
    }
    return std::unique_ptr<SequenceState>(std::move(copy));
  }

  Status Init(const GoldfinchConfig& config, const StateOptions& o);

  // Layer l's part of the fixed state: the read (In) and written (Out) buffers.
  size_t LayerOffset(size_t l) const {
    return l < c.first_gold_layer
               ? l * per_finch
               : c.first_gold_layer * per_finch + (l - c.first_gold_layer) * 2 * c.n_embd;
  }
  const float* In(size_t l) const { return fixed[cur].data() + LayerOffset(l); }
  float* Out(size_t l) { return fixed[cur ^ 1].data() + LayerOffset(l); }
  const float* RingIn() const { return fixed[cur].data() + ring_offset; }
  float* RingOut() { return fixed[cur ^ 1].data() + ring_offset; }

  GoldfinchConfig c;
  StateOptions options;
  size_t cap = 0, batch = 1, pos = 0, window = 0, per_finch = 0, ring_offset = 0;
  size_t wkv_scratch = 0, gold_rows = 0;
  AlignedBuffer<float> fixed[2];
  size_t gold_pos[2] = {0, 0};
  int cur = 0;
  TokenCatCache cache;
  // The GOLD key/value speed cache (kv_on): positions [0, kv_rows) hold layer g's keys and
  // values in layer g of kv (rows at or past pos are left over from a chunk that failed).
  bool kv_on = false;
  GoldKvCache kv;
  size_t kv_rows = 0;
  // kNN backend (ice, faiss) on the GOLD layers: its index over kv's keys (one per GOLD layer
  // and head), per-thread search memory, and the candidates of each head's current block.
  bool knn = false;
  KnnIndexSet index;
  IceScratchPool ice_scratch;
  ice::SharedCandidates shared;
  AlignedBuffer<float> scratch;
  // Chunk scratch (batch rows).
  float *x = nullptr, *xa = nullptr, *sx = nullptr, *tmp = nullptr, *mixed[5] = {}, *r = nullptr,
        *k = nullptr, *v = nullptr, *v2 = nullptr, *lw = nullptr, *y = nullptr, *h5 = nullptr,
        *hs = nullptr, *hd = nullptr, *heads = nullptr, *cvals = nullptr, *zero_u = nullptr;
  // GOLD scratch (gold_rows = batch + window rows).
  float *gx = nullptr, *gxa = nullptr, *gsx = nullptr, *gtmp = nullptr, *gq = nullptr,
        *gh = nullptr, *gatt = nullptr, *gm = nullptr, *gl = nullptr, *cm[4] = {}, *ffn = nullptr;
  // Key-block scratch (kKeyBlock + 1 rows).
  float *kcat = nullptr, *kxo = nullptr, *kc = nullptr, *kxxx = nullptr, *kh = nullptr,
        *khs = nullptr, *kmk = nullptr, *kmv = nullptr, *kk = nullptr, *kvv = nullptr,
        *khk = nullptr, *ktmp = nullptr, *kbuf = nullptr, *vbuf = nullptr;
};

}  // namespace floe
