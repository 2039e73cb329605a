// An optional observer of individual attention queries, for measuring an approximate backend
// against exact attention on the very same queries, keys and values (floe eval-attention,
// recall tests). The attention code calls Wants() for every (layer, head, position) it computes
// and Record() for those wanted, from worker threads, concurrently: implementations must be
// thread-safe. Never needed for inference; a null probe costs nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "attention/dense/kv_cache.h"

namespace floe {

struct AttentionProbeEvent {
  size_t layer = 0;
  size_t head = 0;           // query head
  size_t kv_head = 0;        // its GQA key/value head
  size_t position = 0;       // the query's position p; keys [0, p] are in the cache
  const float* q = nullptr;  // head_dim floats, RoPE applied
  // The keys and values of positions [0, position] of this query's KV head: those of
  // (cache_layer, cache_kv_head) in `cache`. A whole-layer cache: (layer, kv_head); a head
  // plan's per-head store (attention/planned/): (0, 0).
  const KvCache* cache = nullptr;
  size_t cache_layer = 0, cache_kv_head = 0;
  // True when the query used the kNN path; then `retrieved` holds the ids (positions) chosen by
  // the index search among the eligible range [eligible_begin, eligible_end) (best first), and
  // the query attended to them plus sinks and window.
  bool sparse = false;
  size_t k = 0;  // the k of this query's search (a head plan's knn heads each have their own)
  std::span<const uint32_t> retrieved;
  size_t eligible_begin = 0, eligible_end = 0;
  size_t candidates = 0;       // keys the search scored exactly (the cost of the search)
  const float* out = nullptr;  // head_dim floats: the attention output that was used
};

class AttentionProbe {
 public:
  virtual ~AttentionProbe() = default;
  virtual bool Wants(size_t layer, size_t head, size_t position) const = 0;
  virtual void Record(const AttentionProbeEvent& event) = 0;
};

}  // namespace floe
