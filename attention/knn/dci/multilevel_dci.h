// The multi-level variant of Prioritized DCI (Li & Malik, ICML 2017, the multi-level
// construction; IceFormer's MDCI code builds it with num_levels = 2 by default): the keys are
// spread over `levels` levels, each key on exactly one; a key on level l < top hangs under its
// nearest key on level l + 1 (its parent), so every key above level 0 is also the node of a small
// cluster. Only the top level is a Prioritized DCI (prioritized_dci.h); a query searches it,
// ranks the retrieved top keys exactly, keeps the best F, then descends: the children of the
// kept nodes of a level are ranked exactly and the best F of them are kept, down to level 0,
// whose children are handed to the caller unranked (the caller ranks every candidate exactly
// anyway). Every key met on the way is a candidate. For n keys the top DCI holds about
// n / fanout^(levels - 1) of them, so its traversal and its index (m L sorted lists) shrink by
// that factor; the price is that a key can only be found through its parent.
//
// What is ours, not the paper's, and why (streaming, causal, reproducible):
// - A key's level is drawn from a hash of (seed, id): level >= l + 1 with probability
//   (1 / fanout)^(l + 1), capped at the top, and raised while the level above holds no key yet
//   (so the first key is the top's first node). Both depend only on the key's id and earlier
//   keys.
// - The parent is the nearest key of the level above among the EARLIER keys, by plain Euclidean
//   distance between raw keys (exact scan of that level's stored keys; ties: the earlier key).
//   No later key ever adopts it (MDCI re-parents on insert). So the index is a function of
//   (seed, directions, the set of keys) alone: one at a time, in chunks or all at once give the
//   same index, Truncate gives the index of the remaining keys, and a search over ids <= hi
//   depends on no key after hi. Raw distance, not the MIPS-augmented one, because the augmented
//   distance moves whenever the norm bound M grows, which would re-parent everything; with
//   |q . a - q . b| <= |q| |a - b|, a child near its parent also scores near it.
// - F (nodes kept per level) = ceil(L k1 / fanout), so the candidates a query hands back,
//   ~F x fanout, match the single-level search's budget (L composite indices x k1). The top DCI
//   is asked for F keys per composite index (up to L F distinct), ranked exactly.
//
// Memory per key: its id and child slot (8 bytes) on level 0; the keys above level 0 are also
// stored as floats twice (rows for the ranking's gathers, blocks of 16 for the parent scan,
// NearestRow16 in platform/kernels/search.h): 2 x dim x 4 / fanout bytes per key at 2 levels.
// Insert cost: one exact scan of the level above (n / fanout keys at 2 levels).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "attention/knn/dci/prioritized_dci.h"
#include "platform/base/status.h"

namespace floe::ice {

// Per-query working memory of a multi-level search (one per thread, reused).
struct MultiLevelScratch {
  std::vector<uint32_t> top;   // ids the top DCI retrieved
  std::vector<uint32_t> kept;  // local indices of the kept nodes of the current level
  std::vector<uint32_t> rows;  // local indices of the level below to score
  std::vector<float> scores;
  std::vector<std::pair<float, uint32_t>> ranked;  // (score, local index)
};

class MultiLevelDci {
 public:
  static constexpr size_t kMaxLevels = 4;

  // levels in [2, kMaxLevels], fanout (expected children per node) >= 2; the top DCI has m
  // simple and L composite indices, directions from `seed`.
  Status Init(size_t dim, size_t levels, size_t fanout, size_t simple_indices,
              size_t composite_indices, uint64_t seed);
  void Clear();

  size_t dim() const { return dim_; }
  size_t levels() const { return levels_.size(); }
  size_t size() const;  // keys held, all levels
  size_t level_size(size_t l) const { return levels_[l].ids.size(); }
  size_t bytes() const;

  // Adds a key with an id larger than every id present (kInvalidArgument otherwise).
  Status Insert(uint32_t id, const float* key);
  // Adds n keys with increasing ids (same index as n Inserts; the top DCI is sorted once).
  Status InsertBatch(const uint32_t* ids, const float* keys, size_t n);
  // Removes the keys with id >= limit: the index then equals one built from the rest.
  void Truncate(uint32_t limit);

  // Appends to *out the ids in [lo, hi] found for query q: the nodes met and the children of
  // the kept level-1 nodes (distinct, unranked). k1 and k0 as in PrioritizedDci::Candidates
  // (per composite index of a single-level search: F = ceil(L k1 / fanout)). Deterministic.
  void Candidates(const float* q, uint32_t lo, uint32_t hi, size_t k1, size_t k0,
                  DciScratch* dci_scratch, MultiLevelScratch* s, std::vector<uint32_t>* out) const;

  // Tests: the level of a key and the id of its parent (UINT32_MAX for top-level keys or an
  // id not present).
  size_t LevelOfId(uint32_t id) const;
  uint32_t ParentOf(uint32_t id) const;
  // Tests: the top DCI (its lists compare streamed vs batched builds).
  const PrioritizedDci& top() const { return top_; }

 private:
  struct Level {
    std::vector<uint32_t> ids;     // increasing
    std::vector<uint32_t> parent;  // local index in the level above (level < top)
    std::vector<float> keys;       // levels >= 1: ids.size() x dim (non-finite keys as 0)
    // levels >= 1: the same keys in blocks of 16 (NearestRow16's layout) and their |key|^2,
    // both padded to whole blocks (padding: zero elements, sq +infinity).
    std::vector<float> blocks;
    std::vector<float> sq;
    std::vector<std::vector<uint32_t>> children;  // levels >= 1: local indices below, increasing
  };

  size_t DrawnLevel(uint32_t id) const;
  // Places one key (after the id check). A top-level key is appended to *top_ids / *top_keys
  // when they are given (InsertBatch sorts the top DCI once), else inserted into it at once.
  Status Place(uint32_t id, const float* key, std::vector<uint32_t>* top_ids,
               std::vector<float>* top_keys);
  // The nearest node of level l (>= 1) to key, by |node - key|^2 (ties: the earlier node).
  uint32_t Nearest(size_t l, const float* key) const;
  // Appends a key to level l's stored keys (rows and blocks).
  void StoreKey(size_t l, const float* key, float sq);
  // Cuts level l's stored keys to `keep` (re-padding the last block).
  void CutKeys(size_t l, size_t keep);
  // Ranks rows (local indices of level l >= 1) by q . key, best first (ties: earlier; NaN
  // last), keeping `keep` of them in s->kept.
  void KeepBest(size_t l, const float* q, const std::vector<uint32_t>& rows, size_t keep,
                MultiLevelScratch* s) const;

  size_t dim_ = 0, fanout_ = 0, composite_ = 0;
  uint64_t seed_ = 0;
  std::vector<Level> levels_;
  PrioritizedDci top_;
};

}  // namespace floe::ice
