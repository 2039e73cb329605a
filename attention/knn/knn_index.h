// The kNN index behind IceFormer-style attention, for the keys of ONE (layer, KV head): the
// interface every backend implements (attention/knn/dci/: Prioritized DCI, backend "ice";
// attention/knn/faiss/: FAISS, backend "faiss"; created by MakeKnnIndex in knn_backends.h), so
// that IceAttention's top-k + window + sinks logic is shared and only the search differs. This
// header names no backend.
//
// Ids are sequence positions. Keys are added in increasing id order, contiguous per call; the
// search admits only ids in a given range [lo, hi] (the causal constraint: the query at p may
// retrieve only ids <= p - W), and returns CANDIDATES: the caller takes the exact top-k by
// q . k among them (TopKByInnerProduct), so an index may return more than k (DCI) or exactly
// its own top-k (FAISS).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "platform/base/status.h"

namespace floe {

// Per-thread search memory: one per worker thread, reused across queries, never shared between
// concurrent searches. It holds one backend's working memory (a KnnScratch::Part), made by
// that backend's first search through it; a search by another backend replaces it. So a
// default-constructed scratch serves any index, and allocates nothing once warm.
class KnnScratch {
 public:
  // A backend's working memory (each backend derives its own).
  class Part {
   public:
    virtual ~Part() = default;
  };

  // The part of type T (derived from Part), made empty on first use or when the scratch last
  // served another backend.
  template <class T>
  T& Get() {
    if (T* p = dynamic_cast<T*>(part_.get())) return *p;
    auto made = std::make_unique<T>();
    T& ref = *made;
    part_ = std::move(made);
    return ref;
  }

 private:
  std::unique_ptr<Part> part_;
};

class KnnIndex {
 public:
  virtual ~KnnIndex() = default;

  // A deep copy (forking a sequence copies its index).
  virtual Result<std::unique_ptr<KnnIndex>> Clone() const = 0;
  virtual void Clear() = 0;
  virtual size_t size() const = 0;   // keys held
  virtual size_t bytes() const = 0;  // memory held (keys, graph, projections)

  // Adds n keys (row i at keys + i * dim, id first_id + i); first_id must follow the ids
  // present (kInvalidArgument otherwise). The index after any sequence of Adds of the same
  // keys in the same order is the same (one by one, in chunks, or at once), so a rebuild
  // from the cache reproduces the streamed index.
  virtual Status Add(uint32_t first_id, const float* keys, size_t n) = 0;
  // Drops the keys with id >= limit (what an interrupted prefill chunk left behind); the index
  // then equals one built from the remaining keys alone.
  virtual Status Truncate(uint32_t limit) = 0;

  // Appends to *out candidate ids in [lo, hi] for query q (dim floats): a superset of what
  // the index believes are the k largest q . k; at most `k` of them are needed by the caller.
  virtual Status Search(const float* q, uint32_t lo, uint32_t hi, size_t k, KnnScratch* scratch,
                        std::vector<uint32_t>* out) const = 0;
};

}  // namespace floe
