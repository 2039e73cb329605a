#include "attention/knn/faiss/faiss_knn.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#ifdef FLOE_WITH_FAISS
#include <omp.h>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/clone_index.h>
#include <faiss/impl/HNSW.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/utils/Heap.h>

#include "attention/knn/norm_bound.h"
#endif

namespace floe {

#ifndef FLOE_WITH_FAISS

bool FaissAvailable() { return false; }

Result<std::unique_ptr<KnnIndex>> NewFaissKnnIndex(size_t, const FaissParams&) {
  return Unsupported(
      "attention backend 'faiss': floe was built without FAISS (FLOE_WITH_FAISS=OFF)");
}

#else

bool FaissAvailable() { return true; }

namespace {

// One OpenMP thread for the FAISS calls made on this thread, restored when the guard ends (see the
// header: the setting is per calling thread, so it is made around every call, on whichever TBB
// worker runs it; with a team size of 1 libgomp starts no thread).
class OneOmpThread {
 public:
  OneOmpThread() : previous_(omp_get_max_threads()) {
    if (previous_ != 1) omp_set_num_threads(1);
  }
  ~OneOmpThread() {
    if (previous_ != 1) omp_set_num_threads(previous_);
  }
  OneOmpThread(const OneOmpThread&) = delete;
  OneOmpThread& operator=(const OneOmpThread&) = delete;

 private:
  int previous_;
};

// Runs f with one OpenMP thread; a FAISS exception (faiss::FaissException, std::bad_alloc)
// becomes a Status naming the operation.
template <class F>
Status CallFaiss(const char* what, F&& f) {
  OneOmpThread one;
  try {
    f();
    return Status::Ok();
  } catch (const std::exception& e) {
    return Internal(std::string("FAISS ") + what + " failed: " + e.what());
  } catch (...) {
    return Internal(std::string("FAISS ") + what + " failed with an unknown exception");
  }
}

// The FAISS backend's part of a KnnScratch.
struct FaissScratch final : KnnScratch::Part {
  std::vector<float> distances;  // result scores
  std::vector<int64_t> labels;   // result labels
  std::vector<float> query;      // HNSW: the transformed query
};

class FaissKnnIndex final : public KnnIndex {
 public:
  FaissKnnIndex(size_t dim, const FaissParams& p) : dim_(dim), params_(p) {}

  Status Init() {
    return CallFaiss("index creation", [&] { index_ = Make(); });
  }

  Result<std::unique_ptr<KnnIndex>> Clone() const override {
    auto c = std::make_unique<FaissKnnIndex>(dim_, params_);
    c->first_id_ = first_id_;
    c->level_ = level_;
    c->bound_sq_ = bound_sq_;
    FLOE_RETURN_IF_ERROR(
        CallFaiss("index copy", [&] { c->index_.reset(faiss::clone_index(index_.get())); }));
    return std::unique_ptr<KnnIndex>(std::move(c));
  }

  void Clear() override {
    first_id_ = 0;
    level_ = 0;
    bound_sq_ = 0.0f;
    // A fresh index (HNSW's level generator restarts from its seed, so the index rebuilt
    // after a Clear equals a streamed one); if even that allocation fails, empty the old one.
    if (!CallFaiss("index creation", [&] { index_ = Make(); }).ok()) index_->reset();
  }

  size_t size() const override { return size_t(index_->ntotal); }

  size_t bytes() const override {
    size_t n = sizeof(*this);
    if (const auto* flat = dynamic_cast<const faiss::IndexFlatCodes*>(index_.get())) {
      n += sizeof(*flat) + flat->codes.capacity();
    } else if (const auto* h = dynamic_cast<const faiss::IndexHNSW*>(index_.get())) {
      n += sizeof(*h);
      if (const auto* st = dynamic_cast<const faiss::IndexFlatCodes*>(h->storage))
        n += sizeof(*st) + st->codes.capacity();
      n += h->hnsw.neighbors.capacity() * sizeof(faiss::HNSW::storage_idx_t) +
           h->hnsw.offsets.capacity() * sizeof(size_t) + h->hnsw.levels.capacity() * sizeof(int) +
           h->hnsw.assign_probas.capacity() * sizeof(double) +
           h->hnsw.cum_nneighbor_per_level.capacity() * sizeof(int);
    }
    return n;
  }

  Status Add(uint32_t first_id, const float* keys, size_t n) override {
    if (n == 0) return Status::Ok();
    const size_t have = size();
    if (have > 0 && size_t(first_id) != size_t(first_id_) + have)
      return InvalidArgument("FAISS kNN index: keys must be added in order (next id " +
                             std::to_string(size_t(first_id_) + have) + ", got " +
                             std::to_string(first_id) + ")");
    if (have == 0) first_id_ = first_id;
    if (params_.kind == FaissKind::kFlat)
      return CallFaiss("add", [&] { index_->add(faiss::Index::idx_t(n), keys); });
    // HNSW: the norm bound must cover the new keys. When it moves up a grid step, every key
    // is re-added under the new bound to a fresh index: the result is the index a fresh build
    // of all keys under that bound gives, whatever the order of chunks before.
    float max_sq = 0.0f;
    for (size_t i = 0; i < n; ++i) max_sq = std::max(max_sq, SquaredNorm(keys + i * dim_));
    const int level = NormLevel(max_sq);
    std::vector<float> old;
    if (have == 0 || level > level_) {
      if (have > 0) FLOE_RETURN_IF_ERROR(RawKeys(have, &old));
      level_ = level;
      bound_sq_ = LevelToBoundSq(level);
      FLOE_RETURN_IF_ERROR(CallFaiss("index creation", [&] { index_ = Make(); }));
    }
    return CallFaiss("add", [&] {
      // One at a time: HNSW inserts a batch level by level, so the graph would depend on
      // how the keys were chunked; singly it depends only on the keys and their order.
      std::vector<float> augmented(dim_ + 1);
      auto add = [&](const float* key) {
        Augment(key, augmented.data());
        index_->add(1, augmented.data());
      };
      for (size_t i = 0; i * dim_ < old.size(); ++i) add(old.data() + i * dim_);
      for (size_t i = 0; i < n; ++i) add(keys + i * dim_);
    });
  }

  Status Truncate(uint32_t limit) override {
    const size_t have = size();
    if (have == 0 || size_t(limit) >= size_t(first_id_) + have) return Status::Ok();
    const size_t keep = limit > first_id_ ? size_t(limit - first_id_) : 0;
    std::vector<float> kept;
    FLOE_RETURN_IF_ERROR(RawKeys(keep, &kept));
    const uint32_t first = first_id_;
    Clear();  // the bound too: the result equals an index of the kept keys alone
    return Add(first, kept.data(), keep);
  }

  Status Search(const float* q, uint32_t lo, uint32_t hi, size_t k, KnnScratch* scratch,
                std::vector<uint32_t>* out) const override {
    const size_t have = size();
    if (have == 0 || k == 0) return Status::Ok();
    lo = std::max(lo, first_id_);
    hi = uint32_t(std::min<size_t>(hi, size_t(first_id_) + have - 1));
    if (lo > hi) return Status::Ok();
    const size_t kk = std::min<size_t>(k, size_t(hi - lo) + 1);
    FaissScratch* s = &scratch->Get<FaissScratch>();
    s->distances.resize(kk);
    s->labels.resize(kk);
    // Labels are insertion ranks: admissible ids [lo, hi] are labels [lo - first, hi - first].
    faiss::IDSelectorRange admissible(faiss::Index::idx_t(lo - first_id_),
                                      faiss::Index::idx_t(hi - first_id_) + 1);
    FLOE_RETURN_IF_ERROR(CallFaiss("search", [&] {
      if (params_.kind == FaissKind::kFlat) {
        faiss::SearchParameters sp;
        sp.sel = &admissible;
        index_->search(1, q, faiss::Index::idx_t(kk), s->distances.data(), s->labels.data(), &sp);
      } else {
        // q -> (M q / |q|, 0): |q~ - k~|^2 = 2 M^2 - 2 M (q . k) / |q|, so the nearest
        // augmented key is the key of largest q . k; the query lies on the keys' sphere.
        s->query.resize(dim_ + 1);
        const float norm = std::sqrt(SquaredNorm(q));
        const float scale = norm > 0.0f ? std::sqrt(bound_sq_) / norm : 0.0f;
        for (size_t i = 0; i < dim_; ++i) s->query[i] = q[i] * scale;
        s->query[dim_] = 0.0f;
        faiss::SearchParametersHNSW sp;
        sp.sel = &admissible;
        sp.efSearch = int(std::max(params_.ef_search, kk));
        // HNSW::search directly (what IndexHNSW::search does per query, minus its OpenMP
        // region and its unlocked update of the global faiss::hnsw_stats, a data race between
        // concurrent searches): single-threaded, touching only the const index.
        const auto* h = static_cast<const faiss::IndexHNSW*>(index_.get());
        std::unique_ptr<faiss::DistanceComputer> dis(h->storage->get_distance_computer());
        dis->set_query(s->query.data());
        faiss::maxheap_heapify(kk, s->distances.data(), s->labels.data());
        faiss::VisitedTable visited{int(have)};
        h->hnsw.search(*dis, int(kk), s->labels.data(), s->distances.data(), visited, &sp);
      }
    }));
    for (int64_t label : s->labels)  // -1: fewer admissible results than kk were found
      if (label >= 0 && size_t(label) < have) out->push_back(first_id_ + uint32_t(label));
    return Status::Ok();
  }

 private:
  std::unique_ptr<faiss::Index> Make() const {
    if (params_.kind == FaissKind::kFlat)
      return std::make_unique<faiss::IndexFlatIP>(faiss::Index::idx_t(dim_));
    auto h = std::make_unique<faiss::IndexHNSWFlat>(int(dim_) + 1, int(params_.hnsw_m),
                                                    faiss::METRIC_L2);
    h->hnsw.efConstruction = int(params_.ef_construction);
    h->hnsw.efSearch = int(params_.ef_search);
    return h;
  }

  float SquaredNorm(const float* x) const {
    float s = 0.0f;
    for (size_t i = 0; i < dim_; ++i) s += x[i] * x[i];
    return s;
  }
  // k -> (k, sqrt(M^2 - |k|^2)) (the MIPS -> nearest-neighbour transform; |k~| = M).
  void Augment(const float* key, float* out) const {
    std::copy_n(key, dim_, out);
    out[dim_] = std::sqrt(std::max(0.0f, bound_sq_ - SquaredNorm(key)));
  }
  // The first n keys as added (HNSW: the augmented vectors less their last coordinate).
  Status RawKeys(size_t n, std::vector<float>* out) const {
    out->resize(n * dim_);
    if (n == 0) return Status::Ok();
    if (params_.kind == FaissKind::kFlat)
      return CallFaiss("reconstruct",
                       [&] { index_->reconstruct_n(0, faiss::Index::idx_t(n), out->data()); });
    std::vector<float> augmented(n * (dim_ + 1));
    FLOE_RETURN_IF_ERROR(CallFaiss("reconstruct", [&] {
      index_->reconstruct_n(0, faiss::Index::idx_t(n), augmented.data());
    }));
    for (size_t i = 0; i < n; ++i)
      std::copy_n(augmented.data() + i * (dim_ + 1), dim_, out->data() + i * dim_);
    return Status::Ok();
  }

  size_t dim_;
  FaissParams params_;
  uint32_t first_id_ = 0;  // id of label 0
  int level_ = 0;          // HNSW: M^2 = 2^(level/2), the smallest grid value >= every |k|^2
  float bound_sq_ = 0.0f;  // HNSW: M^2
  std::unique_ptr<faiss::Index> index_;
};

}  // namespace

Result<std::unique_ptr<KnnIndex>> NewFaissKnnIndex(size_t dim, const FaissParams& params) {
  if (dim == 0) return InvalidArgument("FAISS kNN index: key dimension is 0");
  if (params.kind != FaissKind::kFlat && params.kind != FaissKind::kHnsw)
    return InvalidArgument("FAISS kNN index: unknown kind " + std::to_string(int(params.kind)));
  auto index = std::make_unique<FaissKnnIndex>(dim, params);
  FLOE_RETURN_IF_ERROR(index->Init());
  return std::unique_ptr<KnnIndex>(std::move(index));
}

#endif  // FLOE_WITH_FAISS

}  // namespace floe
