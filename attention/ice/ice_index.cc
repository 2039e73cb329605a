#include "attention/ice/ice_index.h"

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "attention/faiss_knn.h"
#include "attention/ice/multilevel_dci.h"
#include "platform/dtype.h"

namespace floe::ice {

uint64_t IndexSeed(uint64_t seed, size_t layer, size_t kv_head) {
  uint64_t z = seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t(layer) * 65537u + uint64_t(kv_head) + 1));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

size_t WindowBegin(const AttentionSettings& s, size_t pos) {
  const size_t n_keys = pos + 1;
  return std::max(std::min(s.sinks, n_keys), n_keys - std::min(s.window, n_keys));
}

size_t IndexLimit(const AttentionSettings& s, size_t n) {
  if (n == 0) return 0;
  const size_t p = n - 1;
  const size_t block = s.backend == AttentionBackend::kIce && s.search_block > 1 ? s.search_block : 1;
  const size_t block_end = (p / block + 1) * block;
  return std::min(WindowBegin(s, block_end - 1), p + 1);
}

namespace {

// A Prioritized DCI (single- or multi-level) behind the KnnIndex interface. Both kinds build
// the same index from the same keys however they are added (InsertBatch sorts once into an
// empty index).
template <class Dci>
class DciKnnIndex final : public KnnIndex {
 public:
  explicit DciKnnIndex(const DciParams& p) : params_(p) {}
  Status Init(size_t dim, uint64_t seed) {
    if constexpr (std::is_same_v<Dci, MultiLevelDci>)
      return dci_.Init(dim, params_.levels, params_.fanout, params_.simple_indices, params_.composite_indices, seed);
    else
      return dci_.Init(dim, params_.simple_indices, params_.composite_indices, seed);
  }
  Result<std::unique_ptr<KnnIndex>> Clone() const override {
    return std::unique_ptr<KnnIndex>(std::make_unique<DciKnnIndex>(*this));
  }
  void Clear() override { dci_.Clear(); }
  size_t size() const override { return dci_.size(); }
  size_t bytes() const override { return sizeof(*this) + dci_.bytes(); }
  Status Add(uint32_t first_id, const float* keys, size_t n) override {
    if (n == 1) return dci_.Insert(first_id, keys);
    std::vector<uint32_t> ids(n);
    for (size_t i = 0; i < n; ++i) ids[i] = first_id + uint32_t(i);
    return dci_.InsertBatch(ids.data(), keys, n);
  }
  Status Truncate(uint32_t limit) override {
    dci_.Truncate(limit);
    return Status::Ok();
  }
  // k1 = k * candidates_per_k per composite index (the multi-level search spreads that budget
  // over the kept nodes' children).
  Status Search(const float* q, uint32_t lo, uint32_t hi, size_t k, KnnScratch* s,
                std::vector<uint32_t>* out) const override {
    const size_t k1 = k * params_.candidates_per_k;
    if constexpr (std::is_same_v<Dci, MultiLevelDci>)
      dci_.Candidates(q, lo, hi, k1, params_.max_visits, &s->dci, &s->multi, out);
    else
      dci_.Candidates(q, lo, hi, k1, params_.max_visits, &s->dci, out);
    return Status::Ok();
  }

 private:
  DciParams params_;
  Dci dci_;
};

template <class Dci>
Result<std::unique_ptr<KnnIndex>> MakeDciKnnIndex(size_t dim, const DciParams& params, uint64_t seed) {
  auto index = std::make_unique<DciKnnIndex<Dci>>(params);
  FLOE_RETURN_IF_ERROR(index->Init(dim, seed));
  return std::unique_ptr<KnnIndex>(std::move(index));
}

}  // namespace

Result<std::unique_ptr<KnnIndex>> NewDciKnnIndex(size_t dim, const DciParams& params, uint64_t seed) {
  return params.levels > 1 ? MakeDciKnnIndex<MultiLevelDci>(dim, params, seed)
                           : MakeDciKnnIndex<PrioritizedDci>(dim, params, seed);
}

IceIndex::IceIndex(const IceIndex& other) { *this = other; }

IceIndex& IceIndex::operator=(const IceIndex& other) {
  if (this != &other && !CopyFrom(other).ok()) {
    indexes_.clear();
    n_layers_ = n_kv_heads_ = 0;
  }
  return *this;
}

Status IceIndex::CopyFrom(const IceIndex& other) {
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

Status IceIndex::Init(size_t n_layers, size_t n_kv_heads, size_t head_dim,
                      const AttentionSettings& s) {
  n_layers_ = n_layers;
  n_kv_heads_ = n_kv_heads;
  head_dim_ = head_dim;
  settings_ = s;
  indexes_.clear();
  indexes_.reserve(n_layers * n_kv_heads);
  for (size_t l = 0; l < n_layers; ++l)
    for (size_t h = 0; h < n_kv_heads; ++h) {
      auto index = s.backend == AttentionBackend::kFaiss
                       ? NewFaissKnnIndex(head_dim, s.faiss)
                       : NewDciKnnIndex(head_dim, s.dci, IndexSeed(s.dci.seed, l, h));
      if (!index.ok()) return index.status();
      indexes_.push_back(std::move(index).value());
    }
  return Status::Ok();
}

void IceIndex::Clear() {
  for (auto& index : indexes_) index->Clear();
}

size_t IceIndex::bytes() const {
  size_t n = indexes_.capacity() * sizeof(indexes_[0]);
  for (const auto& index : indexes_) n += index->bytes();
  return n;
}

size_t IceIndex::indexed_end(size_t layer, size_t kv_head) const {
  return settings_.sinks + indexes_[layer * n_kv_heads_ + kv_head]->size();
}

Status IceIndex::Extend(const KvCache& cache, size_t layer, size_t kv_head, size_t end,
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

Status IceIndex::Truncate(size_t layer, size_t limit) {
  for (size_t h = 0; h < n_kv_heads_; ++h)
    FLOE_RETURN_IF_ERROR(indexes_[layer * n_kv_heads_ + h]->Truncate(uint32_t(std::min<size_t>(limit, UINT32_MAX))));
  return Status::Ok();
}

Status IceIndex::Rebuild(const KvCache& cache, size_t n_positions, ThreadContext* threads) {
  Clear();
  const size_t n = IndexLimit(settings_, n_positions);
  std::vector<Status> status(n_layers_ * n_kv_heads_);
  auto work = [&](size_t i0, size_t i1) {
    std::vector<float> keys;
    for (size_t i = i0; i < i1; ++i) status[i] = Extend(cache, i / n_kv_heads_, i % n_kv_heads_, n, &keys);
  };
  if (threads) threads->ParallelFor(status.size(), 1, work);
  else work(0, status.size());
  for (const Status& st : status) FLOE_RETURN_IF_ERROR(st);
  return Status::Ok();
}

}  // namespace floe::ice
