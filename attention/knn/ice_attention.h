// IceFormer attention (Mao, Ester & Li, ICLR 2024, arXiv 2405.02842: softmax attention
// restricted to the keys a k-NN search returns), causal: for query head h at position p with
// GQA key/value head g,
//   A(p) = [0, S)  ∪  (p - W, p]  ∪  TopK_k{ q . k_s : S <= s <= p - W }
//   out  = sum_{s in A(p)} softmax_s(q . k_s / sqrt(head_dim)) v_s
// where TopK comes from the kNN index of (layer, g) (attention/knn/knn_index.h: Prioritized DCI,
// or FAISS flat / HNSW), which returns candidates; the true inner products of the candidates
// give the k largest. Every query head searches its group's index separately, once per block
// of AttentionSettings::search_block positions (ice backend): the block's first kNN query
// searches (keys up to its own position, ceil(search_scale k) asked for) and every query of the
// block ranks those candidates exactly (AttentionScoresGather16: 16 queries per pass over the
// candidate keys; a decode step: the tree kernel, over a copy of the candidates' key rows once
// the block's second step made it). The candidates of each head's current block are carried
// across calls in IceAttentionArgs::shared. Exact cases: a query seeing fewer than dense_below
// keys, or whose eligible range [S, p - W] holds at most k keys, gets DenseAttendOne (A(p) is
// then every key).
// Causality: a call first makes its searches (per KV head, in position order), the index of
// (layer, g) growing just before each search to the keys it may retrieve (ice::IndexLimit:
// ids <= p - W for the query at p; a shared search: up to its own position), then ranks in
// parallel. So nothing a query retrieves depends on a later key, the DCI norm bound M (the
// largest key norm indexed) included, and chunked prefill, token-by-token decode and a restored
// state retrieve alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "attention/attention_probe.h"
#include "attention/attention_settings.h"
#include "attention/knn/knn_index_set.h"
#include "attention/knn/shared_candidates.h"
#include "attention/dense/kv_cache.h"
#include "platform/base/thread_context.h"

namespace floe {

// Per-thread working memory of IceAttention (e.g. the DCI visit marks, sized to the context),
// kept across calls so that a decode step allocates nothing; one per sequence state (not
// shared between concurrent calls). Copying gives a new, empty pool.
class IceScratchPool {
 public:
  IceScratchPool();
  ~IceScratchPool();
  IceScratchPool(const IceScratchPool&);
  IceScratchPool& operator=(const IceScratchPool&);
  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

struct IceAttentionArgs {
  const KvCache* cache = nullptr;
  // Holds keys [sinks, IndexLimit(first_pos)) of every (layer, KV head) (what the positions
  // before the call leave); the call grows it to [sinks, IndexLimit(first_pos + n_tokens)).
  KnnIndexSet* index = nullptr;
  const AttentionSettings* settings = nullptr;
  size_t layer = 0;
  size_t n_heads = 0;
  size_t n_tokens = 0;
  size_t first_pos = 0;
  const float* q = nullptr;           // n_tokens x (n_heads * head_dim)
  float* out = nullptr;               // n_tokens x (n_heads * head_dim)
  AttentionProbe* probe = nullptr;    // optional
  IceScratchPool* scratch = nullptr;  // optional; a temporary pool when null
  // The sequence's candidates of its current blocks (Init with n_layers, n_kv_heads and
  // settings->search_block), carried across calls; null: blocks end with the call.
  ice::SharedCandidates* shared = nullptr;
};

// Searches parallel over KV heads, then ranking and softmax over (block or token, head) pairs.
// Errors when the index fails (FAISS: an exception turned into a Status, e.g. out of memory);
// the outputs are then unspecified.
Status IceAttention(const IceAttentionArgs& args, ThreadContext* threads);

namespace ice {

// Softmax attention of one query head over the given distinct positions of (layer, kv_head),
// scale 1/sqrt(head_dim); `scores` is scratch. The sparse kernel of IceAttention.
void SparseAttendOne(const KvCache& cache, size_t layer, size_t kv_head, const float* q,
                     std::span<const uint32_t> positions, std::vector<float>* scores, float* out);

// The attended set of a sparse query, in memory order: sinks [0, sinks), the retrieved ids
// (all in [sinks, window_begin), sorted), the window [window_begin, n_keys).
void AttendedPositions(size_t sinks, std::span<const uint32_t> retrieved, size_t window_begin,
                       size_t n_keys, std::vector<uint32_t>* out);

// The k best of the (scores[i], ids[i]) whose id is below `below` (ties: smaller id first; NaN
// scores last), best first, into *out; returns how many ids were below. `scored` is scratch.
size_t TopKOfScores(const float* scores, std::span<const uint32_t> ids, uint32_t below, size_t k,
                    std::vector<std::pair<float, uint32_t>>* scored, std::vector<uint32_t>* out);

// Up to kScoreLanes queries at once (a search block): scores[i * kScoreLanes + g] is query g's
// score of candidate ids[i]; query g < n_q admits ids below below[g]. Leaves in scored[g] (an
// array of kScoreLanes) a superset of query g's k best admitted candidates, every one of them
// if fewer (NaN ranked as -inf), in no particular order; admitted[g] = how many ids it admits.
// FinishTopK then gives exactly what TopKOfScores gives for that query alone.
inline constexpr size_t kScoreLanes = 16;
void TopKOfScores16(const float* scores, std::span<const uint32_t> ids, const uint32_t* below,
                    size_t n_q, size_t k, std::vector<float>* maxima,
                    std::vector<std::pair<float, uint32_t>>* scored, size_t* admitted);
// The k best of *scored (ties: smaller id first), best first, into *out.
void FinishTopK(std::vector<std::pair<float, uint32_t>>* scored, size_t k,
                std::vector<uint32_t>* out);

// The k candidates with the largest q . k (ties: smaller id first; NaN scores last), best
// first, into *out. `scores` and `scored` are scratch.
void TopKByInnerProduct(const KvCache& cache, size_t layer, size_t kv_head, const float* q,
                        std::span<const uint32_t> candidates, size_t k, std::vector<float>* scores,
                        std::vector<std::pair<float, uint32_t>>* scored,
                        std::vector<uint32_t>* out);

}  // namespace ice
}  // namespace floe
