// The kNN index of one sequence for IceFormer attention: one Prioritized DCI per (layer, KV
// head), fed with the keys exactly as the KvCache stores them (F16 caches: the rounded keys),
// so the index can always be rebuilt from the cache alone. Sink positions [0, S) are never
// searched and are not indexed (their often outsized norms would only loosen the MIPS bound).
//
// Directions are independent per (layer, KV head): seed = mix(settings seed, layer, head).
// Copyable (a fork copies the index); cost O(positions x layers x kv_heads x m L).
#pragma once

#include <cstddef>
#include <vector>

#include "attention/attention_settings.h"
#include "attention/ice/prioritized_dci.h"
#include "attention/kv_cache.h"
#include "platform/status.h"
#include "platform/thread_context.h"

namespace floe::ice {

class IceIndex {
 public:
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

  const PrioritizedDci& at(size_t layer, size_t kv_head) const { return dci_[layer * n_kv_heads_ + kv_head]; }

 private:
  size_t n_layers_ = 0, n_kv_heads_ = 0, head_dim_ = 0, sinks_ = 0;
  std::vector<PrioritizedDci> dci_;
};

// Seed of the index of (layer, kv_head): a fixed mix of the settings' seed.
uint64_t IndexSeed(uint64_t seed, size_t layer, size_t kv_head);

}  // namespace floe::ice
