#include "attention/gold/tokencat_cache.h"

#include <cstring>
#include <new>
#include <string>

namespace floe {

Status TokenCatCache::Init(size_t dim, DType dtype) {
  if (dtype != DType::kF32 && dtype != DType::kF16)
    return InvalidArgument("the TokenCat cache stores f32 or f16 values");
  dim_ = dim;
  dtype_ = dtype;
  ids_.clear();
  values_.clear();
  return Status::Ok();
}

Status TokenCatCache::Append(int32_t id, const float* c) {
  const size_t elem = DTypeBytes(dtype_, 1);
  try {
    ids_.push_back(id);
    values_.resize(values_.size() + dim_ * elem);
  } catch (const std::bad_alloc&) {
    if (values_.size() != ids_.size() * dim_ * elem) ids_.pop_back();
    return OutOfMemory("TokenCat cache cannot grow past " + std::to_string(size()) + " tokens");
  }
  uint8_t* dst = values_.data() + (ids_.size() - 1) * dim_ * elem;
  if (dtype_ == DType::kF32) {
    std::memcpy(dst, c, dim_ * sizeof(float));
  } else {
    for (size_t i = 0; i < dim_; ++i) {
      const uint16_t h = F32ToF16(c[i]);
      std::memcpy(dst + 2 * i, &h, 2);
    }
  }
  return Status::Ok();
}

void TokenCatCache::Truncate(size_t n) {
  if (n >= ids_.size()) return;
  ids_.resize(n);
  values_.resize(n * dim_ * DTypeBytes(dtype_, 1));
}

void TokenCatCache::Read(size_t t, float* out) const {
  if (dtype_ == DType::kF32) {
    std::memcpy(out, values_.data() + t * dim_ * sizeof(float), dim_ * sizeof(float));
    return;
  }
  const uint8_t* src = values_.data() + t * dim_ * 2;
  for (size_t i = 0; i < dim_; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    out[i] = F16ToF32(h);
  }
}

Status TokenCatCache::Assign(std::span<const int32_t> ids, std::span<const uint8_t> values) {
  if (values.size() != ids.size() * dim_ * DTypeBytes(dtype_, 1))
    return InvalidArgument("TokenCat cache: " + std::to_string(values.size()) +
                           " value bytes for " + std::to_string(ids.size()) + " tokens");
  try {
    ids_.assign(ids.begin(), ids.end());
    values_.assign(values.begin(), values.end());
  } catch (const std::bad_alloc&) {
    ids_.clear();
    values_.clear();
    return OutOfMemory("TokenCat cache of " + std::to_string(ids.size()) + " tokens");
  }
  return Status::Ok();
}

}  // namespace floe
