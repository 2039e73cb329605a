#include "attention/gold/gold_kv_cache.h"

#include <algorithm>
#include <string>

namespace floe {

Status GoldKvCache::Init(size_t layers, size_t heads, size_t head_dim, size_t max_positions) {
  if (layers == 0 || heads == 0 || head_dim == 0 || max_positions == 0)
    return InvalidArgument("GOLD key/value cache dimensions must be positive");
  layers_ = layers;
  heads_ = heads;
  head_dim_ = head_dim;
  max_positions_ = max_positions;
  kv_ = KvCache();
  return Status::Ok();
}

Status GoldKvCache::Reserve(size_t n, size_t kept) {
  if (n <= capacity()) return Status::Ok();
  if (n > max_positions_)
    return OutOfRange("GOLD key/value cache: " + std::to_string(n) + " positions exceed " +
                      std::to_string(max_positions_));
  // Half again (amortised O(1) copies per row, at most 1.5x the rows in use), and a quarter
  // more than asked when filling at once (a restore, a long prompt), so that the next tokens fit.
  constexpr size_t kFirst = 256;
  const size_t grown = std::max({n + n / 4, kFirst, capacity() + capacity() / 2});
  KvCache bigger;
  FLOE_RETURN_IF_ERROR(
      bigger.Init(layers_, heads_, head_dim_, std::min(grown, max_positions_), DType::kF32));
  if (initialised()) FLOE_RETURN_IF_ERROR(bigger.CopyPrefixFrom(kv_, std::min(kept, capacity())));
  kv_ = std::move(bigger);
  return Status::Ok();
}

}  // namespace floe
