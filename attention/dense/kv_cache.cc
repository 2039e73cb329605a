#include "attention/dense/kv_cache.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

namespace floe {

Status KvCache::Init(size_t n_layers, size_t n_kv_heads, size_t head_dim, size_t capacity,
                     DType dtype) {
  if (dtype != DType::kF32 && dtype != DType::kF16)
    return InvalidArgument(std::string("KV cache type must be f32 or f16, not ") +
                           DTypeName(dtype));
  if (n_layers == 0 || n_kv_heads == 0 || head_dim == 0 || capacity == 0)
    return InvalidArgument("KV cache dimensions must be positive");
  const double bytes = 2.0 * double(n_layers) * double(n_kv_heads) * double(head_dim) *
                       double(capacity) * double(DTypeSize(dtype));
  if (bytes > double(size_t{1} << 46))
    return OutOfMemory("KV cache of " + std::to_string(bytes / (1 << 30)) + " GiB is too large");
  // The capacity often comes from a file's context length (docs/allocation-audit.md item 4): a
  // cache the machine could never hold is refused here, not reserved and failed when filled.
  if (const size_t ram = PhysicalMemoryBytes(); ram > 0 && bytes > double(ram)) {
    char msg[256];
    std::snprintf(msg, sizeof msg,
                  "KV cache of %.1f GiB for a context of %zu positions exceeds this machine's "
                  "memory (%.1f GiB): ask for a smaller context (context_length, --ctx)",
                  bytes / double(1 << 30), capacity, double(ram) / double(1 << 30));
    return OutOfMemory(msg);
  }
  n_layers_ = n_layers;
  n_kv_heads_ = n_kv_heads;
  head_dim_ = head_dim;
  capacity_ = capacity;
  dtype_ = dtype;
  FLOE_RETURN_IF_ERROR(storage_.Resize(static_cast<size_t>(bytes)));
  return Status::Ok();
}

void KvCache::Store(size_t layer, size_t pos, const float* k, const float* v) {
  for (size_t h = 0; h < n_kv_heads_; ++h) {
    uint8_t* kd = Row(0, layer, pos, h);
    uint8_t* vd = Row(1, layer, pos, h);
    const float* ks = k + h * head_dim_;
    const float* vs = v + h * head_dim_;
    if (dtype_ == DType::kF32) {
      std::memcpy(kd, ks, head_dim_ * sizeof(float));
      std::memcpy(vd, vs, head_dim_ * sizeof(float));
      continue;
    }
    uint16_t* kh = reinterpret_cast<uint16_t*>(kd);
    uint16_t* vh = reinterpret_cast<uint16_t*>(vd);
    for (size_t i = 0; i < head_dim_; ++i) {
      kh[i] = F32ToF16(ks[i]);
      vh[i] = F32ToF16(vs[i]);
    }
  }
}

void KvCache::StoreRows(size_t layer, size_t pos, size_t kv_head, const void* key,
                        const void* value) {
  std::memcpy(Row(0, layer, pos, kv_head), key, row_bytes());
  std::memcpy(Row(1, layer, pos, kv_head), value, row_bytes());
}

Status KvCache::CopyPrefixFrom(const KvCache& other, size_t n) {
  if (other.n_layers_ != n_layers_ || other.n_kv_heads_ != n_kv_heads_ ||
      other.head_dim_ != head_dim_ || other.dtype_ != dtype_ || n > capacity_ ||
      n > other.capacity_)
    return InvalidArgument("KV caches differ in shape; cannot copy");
  if (n == 0) return Status::Ok();
  for (size_t l = 0; l < n_layers_; ++l)
    for (int which = 0; which < 2; ++which)
      for (size_t h = 0; h < n_kv_heads_; ++h)
        std::memcpy(Row(which, l, 0, h), other.Row(which, l, 0, h), n * row_bytes());
  return Status::Ok();
}

namespace {
constexpr size_t kSlicePositions = 256;  // positions per transposition slice of Save/Restore
}  // namespace

void KvCache::SavePrefix(size_t n, StateWriter& w) const {
  std::vector<uint8_t> slice(kSlicePositions * n_kv_heads_ * row_bytes());
  for (size_t l = 0; l < n_layers_; ++l) {
    for (int which = 0; which < 2; ++which) {
      for (size_t p0 = 0; p0 < n; p0 += kSlicePositions) {
        const size_t count = std::min(kSlicePositions, n - p0);
        for (size_t p = 0; p < count; ++p)
          for (size_t h = 0; h < n_kv_heads_; ++h)
            std::memcpy(slice.data() + (p * n_kv_heads_ + h) * row_bytes(),
                        Row(which, l, p0 + p, h), row_bytes());
        w.PutRaw(slice.data(), count * n_kv_heads_ * row_bytes());
      }
    }
  }
}

Status KvCache::RestorePrefix(size_t n, StateReader& r) {
  if (n > capacity_) return InvalidArgument("session state holds more positions than the cache");
  std::vector<uint8_t> slice(kSlicePositions * n_kv_heads_ * row_bytes());
  for (size_t l = 0; l < n_layers_; ++l) {
    for (int which = 0; which < 2; ++which) {
      for (size_t p0 = 0; p0 < n; p0 += kSlicePositions) {
        const size_t count = std::min(kSlicePositions, n - p0);
        FLOE_RETURN_IF_ERROR(
            r.TakeRaw(slice.data(), count * n_kv_heads_ * row_bytes(), "KV cache"));
        for (size_t p = 0; p < count; ++p)
          for (size_t h = 0; h < n_kv_heads_; ++h)
            std::memcpy(Row(which, l, p0 + p, h),
                        slice.data() + (p * n_kv_heads_ + h) * row_bytes(), row_bytes());
      }
    }
  }
  return Status::Ok();
}

}  // namespace floe
