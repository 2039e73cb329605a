// Plain scalar references for IceFormer attention (double accumulation, single thread, no
// index): what ice::SparseAttendOne, ice::TopKByInnerProduct and the Prioritized DCI search
// are tested against. Slow by design; for tests and `floe eval-attention`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "attention/dense/kv_cache.h"

namespace floe::ice::reference {

// Key or value element of the cache as float.
float KeyAt(const KvCache& cache, size_t layer, size_t pos, size_t kv_head, size_t i);
float ValueAt(const KvCache& cache, size_t layer, size_t pos, size_t kv_head, size_t i);

// Exact softmax attention over the given positions (scale 1/sqrt(head_dim)).
void SparseAttend(const KvCache& cache, size_t layer, size_t kv_head, const float* q,
                  std::span<const uint32_t> positions, float* out);

// Exact dense causal attention over positions [0, n_keys).
void DenseAttend(const KvCache& cache, size_t layer, size_t kv_head, const float* q, size_t n_keys,
                 float* out);

// Brute-force maximum inner product search: the k positions in [begin, end) with the largest
// q . k (double), best first, ties to the smaller position.
std::vector<uint32_t> TopKInnerProduct(const KvCache& cache, size_t layer, size_t kv_head,
                                       const float* q, size_t begin, size_t end, size_t k);

}  // namespace floe::ice::reference
