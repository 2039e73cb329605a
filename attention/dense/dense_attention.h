// Exact causal softmax attention over a KvCache ("Attention Is All You Need", eq. 1, with
// the causal mask): for each query token t at position p_t and head h,
//   out[t][h] = sum_{s <= p_t} softmax_s(q[t][h] . k[s][g(h)] / sqrt(head_dim)) v[s][g(h)]
// where g(h) = h / (n_heads / n_kv_heads) is the grouped-query (GQA) key/value head.
// Keys are streamed in tiles with an online (running max) softmax, so no score buffer of
// context length is needed and nothing is allocated. The query heads of one GQA group are
// processed together (platform AttentionScores / AttentionAccumulate tile kernels), so each
// key and value row is read once per tile for the whole group; work items are (token, KV head).
#pragma once

#include <cstddef>

#include "attention/dense/kv_cache.h"
#include "platform/base/thread_context.h"

namespace floe {

struct DenseAttentionArgs {
  const KvCache* cache = nullptr;
  size_t layer = 0;
  size_t n_heads = 0;        // query heads; a multiple of cache->n_kv_heads()
  size_t n_tokens = 0;       // query rows
  size_t first_pos = 0;      // position of query row 0; row t sees keys [0, first_pos + t]
  const float* q = nullptr;  // n_tokens x (n_heads * head_dim), RoPE already applied
  float* out = nullptr;      // n_tokens x (n_heads * head_dim)
};

// Parallel over (token, head) pairs. Keys for positions <= first_pos + n_tokens - 1 must
// already be stored in the cache.
void DenseAttention(const DenseAttentionArgs& args, ThreadContext* threads);

// One query head (head_dim floats) against keys [0, n_keys) of (layer, kv_head); writes
// head_dim floats. The building block of DenseAttention, shared with the ice backend's
// short-context path so that both give bit-identical results there.
void DenseAttendOne(const KvCache& cache, size_t layer, size_t kv_head, const float* q,
                    size_t n_keys, float* out);

}  // namespace floe
