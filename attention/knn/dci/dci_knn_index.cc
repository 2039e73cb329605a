#include "attention/knn/dci/dci_knn_index.h"

#include <type_traits>
#include <vector>

namespace floe::ice {

uint64_t IndexSeed(uint64_t seed, size_t layer, size_t kv_head) {
  uint64_t z = seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t(layer) * 65537u + uint64_t(kv_head) + 1));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

namespace {

// A Prioritized DCI (single- or multi-level) behind the KnnIndex interface.
template <class Dci>
class DciKnnIndex final : public KnnIndex {
 public:
  explicit DciKnnIndex(const DciParams& p) : params_(p) {}
  Status Init(size_t dim, uint64_t seed) {
    if constexpr (std::is_same_v<Dci, MultiLevelDci>)
      return dci_.Init(dim, params_.levels, params_.fanout, params_.simple_indices,
                       params_.composite_indices, seed);
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
  Status Search(const float* q, uint32_t lo, uint32_t hi, size_t k, KnnScratch* scratch,
                std::vector<uint32_t>* out) const override {
    DciKnnScratch& s = scratch->Get<DciKnnScratch>();
    const size_t k1 = k * params_.candidates_per_k;
    if constexpr (std::is_same_v<Dci, MultiLevelDci>)
      dci_.Candidates(q, lo, hi, k1, params_.max_visits, &s.dci, &s.multi, out);
    else
      dci_.Candidates(q, lo, hi, k1, params_.max_visits, &s.dci, out);
    return Status::Ok();
  }

 private:
  DciParams params_;
  Dci dci_;
};

template <class Dci>
Result<std::unique_ptr<KnnIndex>> MakeDciKnnIndex(size_t dim, const DciParams& params,
                                                  uint64_t seed) {
  auto index = std::make_unique<DciKnnIndex<Dci>>(params);
  FLOE_RETURN_IF_ERROR(index->Init(dim, seed));
  return std::unique_ptr<KnnIndex>(std::move(index));
}

}  // namespace

Result<std::unique_ptr<KnnIndex>> NewDciKnnIndex(size_t dim, const DciParams& params,
                                                 uint64_t seed) {
  return params.levels > 1 ? MakeDciKnnIndex<MultiLevelDci>(dim, params, seed)
                           : MakeDciKnnIndex<PrioritizedDci>(dim, params, seed);
}

}  // namespace floe::ice
