// The optional "speed cache" of GoldFinch's GOLD layers (arXiv 2407.12077, sec. 3 stores only
// the TokenCat cache and rebuilds every GOLD layer's keys and values from it): the rebuilt keys
// and values themselves, one row per token and GOLD layer, kept in a KvCache (layer = GOLD
// layer index, one KV head per attention head, f32) so that the dense and kNN attention kernels
// read them directly. It grows with the sequence: by half when a row does not fit (amortised
// O(1) per token, at most 1.5x the rows in use after a fill), never beyond the sequence's own
// capacity.
#pragma once

#include <cstddef>

#include "attention/dense/kv_cache.h"
#include "platform/base/status.h"

namespace floe {

class GoldKvCache {
 public:
  // Empty, for `layers` GOLD layers of `heads` x `head_dim`; grows up to `max_positions`.
  Status Init(size_t layers, size_t heads, size_t head_dim, size_t max_positions);
  // Makes room for positions [0, n), keeping positions [0, kept) (kOutOfMemory when it cannot
  // grow; then nothing changed).
  Status Reserve(size_t n, size_t kept);
  // Positions that fit without growing.
  size_t capacity() const { return initialised() ? kv_.capacity() : 0; }
  // Bytes per token: keys and values of every layer, f32.
  size_t bytes_per_token() const { return 2 * layers_ * heads_ * head_dim_ * sizeof(float); }
  // Bytes held (the capacity, not only the positions in use).
  size_t bytes() const { return initialised() ? kv_.bytes() : 0; }
  const KvCache& kv() const { return kv_; }
  KvCache& kv() { return kv_; }

 private:
  bool initialised() const { return kv_.n_layers() != 0; }
  size_t layers_ = 0, heads_ = 0, head_dim_ = 0, max_positions_ = 0;
  KvCache kv_;
};

}  // namespace floe
