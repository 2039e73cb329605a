#include "attention/kv_cache.h"

#include <cstring>

namespace floe {

Status KvCache::Init(size_t n_layers, size_t n_kv_heads, size_t head_dim, size_t capacity, DType dtype) {
  if (dtype != DType::kF32 && dtype != DType::kF16)
    return InvalidArgument(std::string("KV cache type must be f32 or f16, not ") + DTypeName(dtype));
  if (n_layers == 0 || n_kv_heads == 0 || head_dim == 0 || capacity == 0)
    return InvalidArgument("KV cache dimensions must be positive");
  const double bytes = 2.0 * double(n_layers) * double(n_kv_heads) * double(head_dim) *
                       double(capacity) * double(DTypeSize(dtype));
  if (bytes > double(size_t{1} << 46))
    return OutOfMemory("KV cache of " + std::to_string(bytes / (1 << 30)) + " GiB is too large");
  n_layers_ = n_layers;
  n_kv_heads_ = n_kv_heads;
  head_dim_ = head_dim;
  capacity_ = capacity;
  dtype_ = dtype;
  FLOE_RETURN_IF_ERROR(storage_.Resize(static_cast<size_t>(bytes)));
  return Status::Ok();
}

void KvCache::Store(size_t layer, size_t pos, const float* k, const float* v) {
  const size_t n = n_kv_heads_ * head_dim_;
  uint8_t* kd = const_cast<uint8_t*>(Row(0, layer, pos, 0));
  uint8_t* vd = const_cast<uint8_t*>(Row(1, layer, pos, 0));
  if (dtype_ == DType::kF32) {
    std::memcpy(kd, k, n * sizeof(float));
    std::memcpy(vd, v, n * sizeof(float));
    return;
  }
  uint16_t* kh = reinterpret_cast<uint16_t*>(kd);
  uint16_t* vh = reinterpret_cast<uint16_t*>(vd);
  for (size_t i = 0; i < n; ++i) {
    kh[i] = F32ToF16(k[i]);
    vh[i] = F32ToF16(v[i]);
  }
}

Status KvCache::CopyPrefixFrom(const KvCache& other, size_t n) {
  if (other.n_layers_ != n_layers_ || other.n_kv_heads_ != n_kv_heads_ ||
      other.head_dim_ != head_dim_ || other.dtype_ != dtype_ || n > capacity_ || n > other.capacity_)
    return InvalidArgument("KV caches differ in shape; cannot copy");
  for (size_t l = 0; l < n_layers_; ++l)
    for (int which = 0; which < 2; ++which)
      std::memcpy(const_cast<uint8_t*>(Row(which, l, 0, 0)), other.Row(which, l, 0, 0), prefix_bytes(n));
  return Status::Ok();
}

void KvCache::SavePrefix(size_t n, StateWriter& w) const {
  for (size_t l = 0; l < n_layers_; ++l)
    for (int which = 0; which < 2; ++which) w.PutRaw(Row(which, l, 0, 0), prefix_bytes(n));
}

Status KvCache::RestorePrefix(size_t n, StateReader& r) {
  if (n > capacity_) return InvalidArgument("session state holds more positions than the cache");
  for (size_t l = 0; l < n_layers_; ++l)
    for (int which = 0; which < 2; ++which)
      FLOE_RETURN_IF_ERROR(r.TakeRaw(const_cast<uint8_t*>(Row(which, l, 0, 0)), prefix_bytes(n), "KV cache"));
  return Status::Ok();
}

}  // namespace floe
