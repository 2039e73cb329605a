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
  size_t sinks() const { return settings_.sinks; }

  // Indexes the positions of (layer, kv_head) from the first one not yet indexed up to `end`
  // (exclusive; nothing when already there), reading the keys from `cache` through `buffer`
  // (scratch). Not safe to call concurrently for the same (layer, kv_head).
  Status Extend(const KvCache& cache, size_t layer, size_t kv_head, size_t end, std::vector<float>* buffer);
  // Drops the keys at positions >= limit from every KV head of `layer`.
  Status Truncate(size_t layer, size_t limit);
  // First position of (layer, kv_head) not indexed (the index holds [sinks, end)).
  size_t indexed_end(size_t layer, size_t kv_head) const;
  // Clears, then indexes positions [0, IndexLimit(settings, n)) of every layer: the index that
  // streaming n positions gives.
  Status Rebuild(const KvCache& cache, size_t n, ThreadContext* threads);

  const KnnIndex& at(size_t layer, size_t kv_head) const { return *indexes_[layer * n_kv_heads_ + kv_head]; }

 private:
  size_t n_layers_ = 0, n_kv_heads_ = 0, head_dim_ = 0;
  AttentionSettings settings_;
  std::vector<std::unique_ptr<KnnIndex>> indexes_;
};

// What a (layer, KV head)'s index holds while a sequence streams (IceAttention keeps it so):
// keys [sinks, IndexLimit(s, p + 1)) when the query at position p searches, and
// [sinks, IndexLimit(s, n)) once positions [0, n) are processed. IndexLimit(s, p + 1) =
// min(window_begin(e - 1), p + 1) where e ends p's search block (ice backend: blocks of
// s.search_block positions; faiss, or a block of 1: e = p + 1), so a search sees every key it
// may retrieve ([sinks, window_begin(e - 1)) and none after its own position) and no other: the
// index a query searches (including the DCI norm bound, the largest norm indexed) depends on
// no later key, however the sequence is cut into chunks. (Keys in the recent window, never
// retrieved, wait outside the index.)
size_t IndexLimit(const AttentionSettings& s, size_t n);
// First position of the recent window of the query at position pos (keys [0, pos] exist):
// max(min(sinks, pos + 1), pos + 1 - min(window, pos + 1)).
size_t WindowBegin(const AttentionSettings& s, size_t pos);

// The Prioritized DCI of one (layer, KV head) behind the KnnIndex interface: candidates are
// k * candidates_per_k per composite index, at most max_visits visits per simple index. With
// params.levels >= 2, the multi-level variant (multilevel_dci.h) with the same budget.
Result<std::unique_ptr<KnnIndex>> NewDciKnnIndex(size_t dim, const DciParams& params, uint64_t seed);

// Seed of the index of (layer, kv_head): a fixed mix of the settings' seed.
uint64_t IndexSeed(uint64_t seed, size_t layer, size_t kv_head);

}  // namespace floe::ice
