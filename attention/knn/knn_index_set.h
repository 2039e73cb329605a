// The kNN indexes of one sequence for IceFormer attention: one KnnIndex per (layer, KV head),
// of the backend the settings name (made by MakeKnnIndex, knn_backends.h), fed with the keys
// exactly as the KvCache stores them (F16 caches: the rounded keys), so the set can always be
// rebuilt from the cache alone. Sink positions [0, S) are never searched and are not indexed
// (their often outsized norms would only loosen the MIPS bound).
//
// Copyable (a fork copies the indexes; a failed copy leaves an empty set: use CopyFrom to see
// the error); cost O(positions x layers x kv_heads x m L) for DCI.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "attention/attention_settings.h"
#include "attention/dense/kv_cache.h"
#include "attention/knn/knn_index.h"
#include "platform/base/status.h"
#include "platform/base/thread_context.h"

namespace floe {

// The least a KnnIndexSet::Init caller allows its empty indexes, whatever the cache.
inline constexpr size_t kKnnIndexFloorBytes = size_t(64) << 20;

class KnnIndexSet {
 public:
  KnnIndexSet() = default;
  KnnIndexSet(const KnnIndexSet& other);
  KnnIndexSet& operator=(const KnnIndexSet& other);
  KnnIndexSet(KnnIndexSet&&) = default;
  KnnIndexSet& operator=(KnnIndexSet&&) = default;
  // A deep copy of `other` (kInternal/kOutOfMemory when an index cannot be copied).
  Status CopyFrom(const KnnIndexSet& other);

  // One empty index per (layer, KV head) of backend s.backend (ice or faiss; errors as
  // MakeKnnIndex's). With max_bytes > 0, kOutOfMemory (nothing kept) when the empty indexes
  // would take more than that (the first one's bytes times their count, checked before the
  // others are made): callers pass what the indexed cache may take, so the indexes of a file's
  // heads never outgrow the keys they index (docs/allocation-audit.md item 10).
  Status Init(size_t n_layers, size_t n_kv_heads, size_t head_dim, const AttentionSettings& s,
              size_t max_bytes = 0);
  void Clear();
  size_t bytes() const;
  size_t sinks() const { return settings_.sinks; }

  // Indexes the positions of (layer, kv_head) from the first one not yet indexed up to `end`
  // (exclusive; nothing when already there), reading the keys from `cache` through `buffer`
  // (scratch). Not safe to call concurrently for the same (layer, kv_head).
  Status Extend(const KvCache& cache, size_t layer, size_t kv_head, size_t end,
                std::vector<float>* buffer);
  // Drops the keys at positions >= limit from every KV head of `layer`.
  Status Truncate(size_t layer, size_t limit);
  // First position of (layer, kv_head) not indexed (the index holds [sinks, end)).
  size_t indexed_end(size_t layer, size_t kv_head) const;
  // Clears, then indexes positions [0, IndexLimit(settings, n)) of every layer: the set that
  // streaming n positions gives.
  Status Rebuild(const KvCache& cache, size_t n, ThreadContext* threads);

  const KnnIndex& at(size_t layer, size_t kv_head) const {
    return *indexes_[layer * n_kv_heads_ + kv_head];
  }

 private:
  size_t n_layers_ = 0, n_kv_heads_ = 0, head_dim_ = 0;
  AttentionSettings settings_;
  std::vector<std::unique_ptr<KnnIndex>> indexes_;
};

namespace ice {

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

}  // namespace ice
}  // namespace floe
