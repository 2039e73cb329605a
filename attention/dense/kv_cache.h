// Per-sequence key/value cache for dense causal attention, F32 or F16 storage.
// Layout per layer: keys[kv_head][pos][head_dim], values the same: the positions of one head
// are contiguous, so attention (which reads one head's keys in position order) streams through
// memory. (Position-major [pos][kv_head] rows were n_kv_heads rows apart, which left decode at
// depth latency-bound.) Saved states keep the position-major order (see SavePrefix).
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/base/aligned_buffer.h"
#include "platform/base/dtype.h"
#include "platform/base/state_io.h"
#include "platform/base/status.h"

namespace floe {

class KvCache {
 public:
  // dtype must be kF32 or kF16. kOutOfMemory if the cache does not fit.
  Status Init(size_t n_layers, size_t n_kv_heads, size_t head_dim, size_t capacity, DType dtype);

  size_t n_layers() const { return n_layers_; }
  size_t n_kv_heads() const { return n_kv_heads_; }
  size_t head_dim() const { return head_dim_; }
  size_t capacity() const { return capacity_; }
  DType dtype() const { return dtype_; }
  size_t bytes() const { return storage_.size(); }

  // Stores the kv_dim = n_kv_heads*head_dim floats of k and v for (layer, pos). pos < capacity.
  void Store(size_t layer, size_t pos, const float* k, const float* v);
  // Writes one head's key and value rows as stored (row_bytes() each, the cache's dtype), e.g.
  // rows read back from a saved state. pos < capacity, kv_head < n_kv_heads.
  void StoreRows(size_t layer, size_t pos, size_t kv_head, const void* key, const void* value);
  size_t row_bytes() const { return head_dim_ * DTypeSize(dtype_); }

  // Copies positions [0, n) of every layer from `other`, which must have the same layers,
  // heads, head_dim and dtype and capacity >= n (a fork; kInvalidArgument otherwise).
  Status CopyPrefixFrom(const KvCache& other, size_t n);
  // Appends / reads positions [0, n) of every layer: per layer the keys, then the values, each
  // position-major ([pos][kv_head][head_dim], the format of earlier versions).
  void SavePrefix(size_t n, StateWriter& w) const;
  Status RestorePrefix(size_t n, StateReader& r);
  // Bytes of one layer's keys (or values) for n positions.
  size_t prefix_bytes(size_t n) const { return n * n_kv_heads_ * row_bytes(); }

  // Raw pointers to the row of (layer, pos, kv_head): float* for kF32, uint16_t* (half) for kF16.
  const void* Key(size_t layer, size_t pos, size_t kv_head) const {
    return Row(0, layer, pos, kv_head);
  }
  const void* Value(size_t layer, size_t pos, size_t kv_head) const {
    return Row(1, layer, pos, kv_head);
  }
  // Byte distance between consecutive positions of one head.
  size_t pos_stride_bytes() const { return row_bytes(); }

 private:
  uint8_t* Row(int which, size_t layer, size_t pos, size_t kv_head) {
    return const_cast<uint8_t*>(static_cast<const KvCache*>(this)->Row(which, layer, pos, kv_head));
  }
  const uint8_t* Row(int which, size_t layer, size_t pos, size_t kv_head) const {
    const size_t per_layer = capacity_ * n_kv_heads_ * row_bytes();
    return storage_.data() + (layer * 2 + which) * per_layer +
           (kv_head * capacity_ + pos) * row_bytes();
  }

  size_t n_layers_ = 0, n_kv_heads_ = 0, head_dim_ = 0, capacity_ = 0;
  DType dtype_ = DType::kF32;
  AlignedBuffer<uint8_t> storage_;
};

}  // namespace floe
