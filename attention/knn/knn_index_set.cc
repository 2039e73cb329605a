#include "attention/knn/knn_index_set.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "attention/knn/knn_backends.h"
#include "platform/base/dtype.h"

namespace floe {
namespace ice {

size_t WindowBegin(const AttentionSettings& s, size_t pos) {
  const size_t n_keys = pos + 1;
  return std::max(std::min(s.sinks, n_keys), n_keys - std::min(s.window, n_keys));
}

size_t IndexLimit(const AttentionSettings& s, size_t n) {
  if (n == 0) return 0;
  const size_t p = n - 1;
  const size_t block =
      s.backend == AttentionBackend::kIce && s.search_block > 1 ? s.search_block : 1;
  const size_t block_end = (p / block + 1) * block;
  return std::min(WindowBegin(s, block_end - 1), p + 1);
}

}  // namespace ice

KnnIndexSet::KnnIndexSet(const KnnIndexSet& other) { *this = other; }

KnnIndexSet& KnnIndexSet::operator=(const KnnIndexSet& other) {
  if (this != &other && !CopyFrom(other).ok()) {
    indexes_.clear();
    n_layers_ = n_kv_heads_ = 0;
  }
  return *this;
}

Status KnnIndexSet::CopyFrom(const KnnIndexSet& other) {
  if (this == &other) return Status::Ok();
  std::vector<std::unique_ptr<KnnIndex>> copy;
  copy.reserve(other.indexes_.size());
  for (const auto& index : other.indexes_) {
    FLOE_ASSIGN_OR_RETURN(auto c, index->Clone());
    copy.push_back(std::move(c));
  }
  n_layers_ = other.n_layers_;
  n_kv_heads_ = other.n_kv_heads_;
  head_dim_ = other.head_dim_;
  settings_ = other.settings_;
  indexes_ = std::move(copy);
  return Status::Ok();
}

Status KnnIndexSet::Init(size_t n_layers, size_t n_kv_heads, size_t head_dim,
                         const AttentionSettings& s, size_t max_bytes) {
  n_layers_ = n_layers;
  n_kv_heads_ = n_kv_heads;
  head_dim_ = head_dim;
  settings_ = s;
  indexes_.clear();
  const size_t count = n_layers * n_kv_heads;
  for (size_t l = 0; l < n_layers; ++l)
    for (size_t h = 0; h < n_kv_heads; ++h) {
      auto index = MakeKnnIndex(s, head_dim, l, h);
      if (!index.ok()) {
        indexes_.clear();
        return index.status();
      }
      if (indexes_.empty()) {  // the first one: all of them would take its bytes each
        if (max_bytes > 0 && (*index)->bytes() > max_bytes / count) {
          const double mib = double((*index)->bytes()) * double(count) / double(1 << 20);
          return OutOfMemory("the kNN indexes of " + std::to_string(n_layers) + " layers x " +
                             std::to_string(n_kv_heads) + " KV heads would take " +
                             std::to_string(size_t(mib)) + " MiB empty, more than the " +
                             std::to_string(max_bytes >> 20) +
                             " MiB allowed beside the keys they index: lower --knn-simple / "
                             "--knn-composite or use dense attention");
        }
        indexes_.reserve(count);
      }
      indexes_.push_back(std::move(index).value());
    }
  return Status::Ok();
}

void KnnIndexSet::Clear() {
  for (auto& index : indexes_) index->Clear();
}

size_t KnnIndexSet::bytes() const {
  size_t n = indexes_.capacity() * sizeof(indexes_[0]);
  for (const auto& index : indexes_) n += index->bytes();
  return n;
}

size_t KnnIndexSet::indexed_end(size_t layer, size_t kv_head) const {
  return settings_.sinks + indexes_[layer * n_kv_heads_ + kv_head]->size();
}

Status KnnIndexSet::Extend(const KvCache& cache, size_t layer, size_t kv_head, size_t end,
                           std::vector<float>* buffer) {
  const size_t begin = indexed_end(layer, kv_head);
  if (end <= begin) return Status::Ok();
  buffer->resize((end - begin) * head_dim_);
  for (size_t pos = begin; pos < end; ++pos) {
    const void* k = cache.Key(layer, pos, kv_head);
    float* dst = buffer->data() + (pos - begin) * head_dim_;
    if (cache.dtype() == DType::kF16)
      for (size_t i = 0; i < head_dim_; ++i) dst[i] = F16ToF32(static_cast<const uint16_t*>(k)[i]);
    else
      std::copy_n(static_cast<const float*>(k), head_dim_, dst);
  }
  return indexes_[layer * n_kv_heads_ + kv_head]->Add(uint32_t(begin), buffer->data(), end - begin);
}

Status KnnIndexSet::Truncate(size_t layer, size_t limit) {
  for (size_t h = 0; h < n_kv_heads_; ++h)
    FLOE_RETURN_IF_ERROR(
        indexes_[layer * n_kv_heads_ + h]->Truncate(uint32_t(std::min<size_t>(limit, UINT32_MAX))));
  return Status::Ok();
}

Status KnnIndexSet::Rebuild(const KvCache& cache, size_t n_positions, ThreadContext* threads) {
  Clear();
  const size_t n = ice::IndexLimit(settings_, n_positions);
  std::vector<Status> status(n_layers_ * n_kv_heads_);
  auto work = [&](size_t i0, size_t i1) {
    std::vector<float> keys;
    for (size_t i = i0; i < i1; ++i)
      status[i] = Extend(cache, i / n_kv_heads_, i % n_kv_heads_, n, &keys);
  };
  if (threads)
    threads->ParallelFor(status.size(), 1, work);
  else
    work(0, status.size());
  for (const Status& st : status) FLOE_RETURN_IF_ERROR(st);
  return Status::Ok();
}

}  // namespace floe
