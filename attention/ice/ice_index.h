// The kNN index of one sequence for IceFormer attention: one KnnIndex per (layer, KV head),
// a Prioritized DCI (backend ice) or a FAISS index (backend faiss, attention/faiss_knn.h), fed
// with the keys exactly as the KvCache stores them (F16 caches: the rounded keys), so the
// index can always be rebuilt from the cache alone. Sink positions [0, S) are never searched
// and are not indexed (their often outsized norms would only loosen the MIPS bound).
//
// DCI directions are independent per (layer, KV head): seed = mix(settings seed, layer, head).
// Copyable (a fork copies the index; a failed copy leaves an empty index: use CopyFrom to see
// the error); cost O(positions x layers x kv_heads x m L) for DCI.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "attention/attention_settings.h"
#include "attention/ice/prioritized_dci.h"
#include "attention/knn_index.h"
#include "attention/kv_cache.h"
#include "platform/status.h"
#include "platform/thread_context.h"

namespace floe::ice {

class IceIndex {
 public:
  IceIndex() = default;
  IceIndex(const IceIndex& other);
  IceIndex& operator=(const IceIndex& other);
  IceIndex(IceIndex&&) = default;
  IceIndex& operator=(IceIndex&&) = default;
  // A deep copy of `other` (kInternal/kOutOfMemory when an index cannot be copied).
  Status CopyFrom(const IceIndex& other);

  // Backend ice: Prioritized DCI with s.dci; backend faiss: FAISS with s.faiss.
  Status Init(size_t n_layers, size_t n_kv_heads, size_t head_dim, const AttentionSettings& s);
  void Clear();
  size_t bytes() const;
  size_t sinks() const { return sinks_; }

  // Indexes positions [begin, end) of `layer` (positions below the sink count are skipped),
  // reading the keys from `cache`. Keys at positions >= begin already indexed (left by an
  // interrupted chunk; their cache rows may since have been overwritten) are dropped first.
  Status Add(const KvCache& cache, size_t layer, size_t begin, size_t end, ThreadContext* threads);
  // Clears, then indexes positions [0, n) of every layer: the same index streaming would give.
  Status Rebuild(const KvCache& cache, size_t n, ThreadContext* threads);

  const KnnIndex& at(size_t layer, size_t kv_head) const { return *indexes_[layer * n_kv_heads_ + kv_head]; }

 private:
  size_t n_layers_ = 0, n_kv_heads_ = 0, head_dim_ = 0, sinks_ = 0;
  std::vector<std::unique_ptr<KnnIndex>> indexes_;
};

// The Prioritized DCI of one (layer, KV head) behind the KnnIndex interface: candidates are
// k * candidates_per_k per composite index, at most max_visits visits per simple index.
Result<std::unique_ptr<KnnIndex>> NewDciKnnIndex(size_t dim, const DciParams& params, uint64_t seed);

// Seed of the index of (layer, kv_head): a fixed mix of the settings' seed.
uint64_t IndexSeed(uint64_t seed, size_t layer, size_t kv_head);

}  // namespace floe::ice
