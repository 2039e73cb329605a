// GoldFinch's "TokenCat" cache (arXiv 2407.12077, sec. 3): per token the token id and the
// compressed value c_t = W_a x_t (A = D/16 values), stored as f32 or f16. The GOLD layers rebuild
// their keys from it, k_t = rms_norm(W_b [ln0(emb(id_t)); c_t]), and their values from the
// token embedding, so nothing else per token is kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "platform/base/dtype.h"
#include "platform/base/status.h"

namespace floe {

class TokenCatCache {
 public:
  // `dim` values per token, stored as `dtype` (kF32 or kF16).
  Status Init(size_t dim, DType dtype);
  size_t size() const { return ids_.size(); }
  size_t dim() const { return dim_; }
  DType dtype() const { return dtype_; }
  // Bytes per token: 4 (the id) + dim * sizeof(dtype).
  size_t bytes_per_token() const { return 4 + dim_ * DTypeBytes(dtype_, 1); }
  size_t memory_bytes() const { return ids_.capacity() * 4 + values_.capacity(); }

  // Appends one token; kOutOfMemory when the cache cannot grow.
  Status Append(int32_t id, const float* c);
  // Drops every token at index >= n (n <= size()).
  void Truncate(size_t n);
  int32_t id(size_t t) const { return ids_[t]; }
  // The `dim` values of token t as f32.
  void Read(size_t t, float* out) const;

  // Serialised form: ids then raw values of all tokens.
  std::span<const int32_t> ids() const { return ids_; }
  std::span<const uint8_t> raw_values() const { return values_; }
  // Replaces the contents; `values` must hold ids.size() * dim values of this cache's dtype.
  Status Assign(std::span<const int32_t> ids, std::span<const uint8_t> values);

 private:
  size_t dim_ = 0;
  DType dtype_ = DType::kF32;
  std::vector<int32_t> ids_;
  std::vector<uint8_t> values_;
};

}  // namespace floe
