// Prioritized DCI (Li & Malik, "Fast k-Nearest Neighbour Search via Prioritized DCI", ICML
// 2017: Algorithm 1 construction, Algorithm 2 querying) over keys transformed so that the
// nearest neighbour is the key with the largest inner product with the query (maximum inner
// product search, MIPS), as in IceFormer (Mao et al., ICLR 2024; its official MDCI code
// augments keys the same way).
//
// MIPS -> nearest neighbour (Bachrach et al. 2014; Neyshabur & Srebro 2015): with M >= |k| for
// every key and any R > 0,
//   key   k  ->  k~ = (k, sqrt(M^2 - |k|^2))        (|k~| = M)
//   query q  ->  q~ = (R M q / |q|, 0)               (|q~| = R M)
//   |k~ - q~|^2 = (1 + R^2) M^2 - 2 R M (q . k) / |q|,
// so the nearest k~ is the key of largest q . k, whatever R. R does change which keys DCI
// meets first (it compares projections |u . k~ - u . q~|). The official code uses a unit query
// (R = 1/M); on the keys and queries of stories-long-2k a larger R gave higher recall, flat
// past R = 4 (docs/results/ice.md). R = 4.
//
// Index: L composite indices of m simple indices; simple index (l, j) holds the keys sorted by
// u_lj . k~ for a random unit direction u_lj in R^{d+1}. Query (after Algorithm 2): a
// composite index visits, in each of its m simple indices, the keys in increasing projection
// distance |u . k~ - u . q~|; a key seen in all m simple indices of a composite index is
// retrieved. Algorithm 2 merges the visits of the m lists one at a time through a priority
// queue, i.e. one distance bound shared by the lists; here every list has its own bound tau_j,
// all starting at the same rank (about sqrt(k1 n) / 8 entries on each side of the query) and
// grown by x 1.25 per round (at least to the next unvisited entry), and each list scans forward
// and backward to its bound. Two changes, measured: (1) matched ranks instead of one shared
// distance: with the query on the 4M sphere its projections sit in the tails of some lists and
// in the bulk of others, and one shared bound then walks far into the dense lists; matched
// ranks visit fewer projections at 32k keys for the same recall with a 4/3 larger k1
// (docs/results/ice.md). (2) batched rounds: the scans are vector loops over runs of a
// sorted list (platform/kernels/search.h), instead of one data-dependent choice per visit that
// mispredicts about half the time, and the sightings are bytes in per-query stamp maps. A
// composite index stops after k1 retrievals (or k0 visits per simple index, or when
// exhausted). Candidates are the union, in retrieval order; entries outside [lo, hi] are
// skipped and never change the answer.
//
// Growing norms (streaming): M is kept on a grid (knn/norm_bound.h), M^2 = 2^(level/2), the
// smallest grid value >= the largest |k|^2 inserted. A key beyond the bound raises the level
// and every stored key is re-projected (its raw projections u . k and |k|^2 are kept, so this
// costs O(n m L log n) and no key reads). Between levels M has at most 19% headroom, and the index
// is a function of (directions, set of keys) alone: inserting keys one at a time, in chunks,
// or all at once after the fact gives the identical index and identical query results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "attention/attention_settings.h"
#include "attention/knn/dci/block_pool.h"
#include "attention/knn/dci/sorted_projections.h"
#include "platform/base/status.h"

namespace floe::ice {

// Per-query working memory; reuse across queries (one per thread).
struct DciScratch {
  // Byte maps over the eligible ids (entry id - lo): m maps "seen in simple index j of the
  // composite index being searched", then the candidate map. An entry is set when it holds the
  // map's current stamp: each composite index takes a new seen stamp and each query a new
  // candidate stamp, so nothing is cleared between them (the maps are zeroed only when a stamp
  // wraps, every 255). One byte per id (64 KiB per map at a 64k context) lets
  // a search mark them with plain byte stores and test them with vector gathers.
  std::vector<uint8_t> maps;
  size_t map_len = 0;    // entries per map; maps are map_len + kStampMapPad bytes apart
  size_t map_count = 0;  // m + 1
  uint8_t seen_stamp = 0, cand_stamp = 0;
  std::vector<const uint8_t*> others;  // the seen maps a visit tests
  std::vector<uint32_t> hits;          // positions of a chunk's ids seen in all other lists
  std::vector<SortedProjections::Window> windows;  // per simple index
  std::vector<float> query_proj;
  std::vector<float> tau;     // per simple index: its distance bound
  std::vector<uint32_t> ids;  // a chunk of newly visited ids
  size_t visited = 0;         // projections the last search visited, all lists (bench_dci)
};

class PrioritizedDci {
 public:
  PrioritizedDci() = default;
  // Copies are deep (their own block pool); moves keep the pool.
  PrioritizedDci(const PrioritizedDci& other) { *this = other; }
  PrioritizedDci& operator=(const PrioritizedDci& other);
  PrioritizedDci(PrioritizedDci&&) noexcept = default;
  PrioritizedDci& operator=(PrioritizedDci&&) noexcept = default;

  // dim = key dimension (head_dim). Directions are drawn from `seed` (deterministic on every
  // platform: own generator, no std:: distributions).
  Status Init(size_t dim, size_t simple_indices, size_t composite_indices, uint64_t seed);
  void Clear();

  size_t dim() const { return dim_; }
  size_t size() const { return ids_.size(); }
  size_t bytes() const;
  // M^2, the squared norm bound (0 while empty).
  float norm_bound_sq() const { return m2_; }
  // How many times keys were re-projected because a key exceeded the bound.
  size_t rebuilds() const { return rebuilds_; }

  // Adds a key (dim floats) with an id larger than every id inserted so far (kInvalidArgument
  // otherwise). Raises the norm bound (and re-projects) when |key| exceeds it.
  Status Insert(uint32_t id, const float* key);
  // Adds n keys (row i at keys + i * dim) with increasing ids, all larger than the ids present.
  // Into an empty index it sorts once (the bulk path: rebuild on restore), into a filled one
  // it inserts one at a time. Same index as n Inserts.
  Status InsertBatch(const uint32_t* ids, const float* keys, size_t n);

  // Removes the keys with id >= limit (what an interrupted prefill chunk left behind) and
  // re-projects with the bound the remaining keys need, so the index again equals one built
  // from the remaining keys alone. O(n m L log n) when something is removed, O(1) otherwise.
  void Truncate(uint32_t limit);

  // Appends to *out the ids in [lo, hi] retrieved for query q (dim floats), at most
  // L * k1 distinct ids, in retrieval order; k0 = 0 means no visit cap. Deterministic.
  void Candidates(const float* q, uint32_t lo, uint32_t hi, size_t k1, size_t k0,
                  DciScratch* scratch, std::vector<uint32_t>* out) const;

  // Simple index (l, j) in order (tests: streaming vs rebuilt equality).
  std::vector<ProjEntry> SimpleIndex(size_t l, size_t j) const {
    return lists_[l * m_ + j].Flatten();
  }

 private:
  float Augmented(size_t key, size_t index) const;  // u . k~ of stored key `key`
  void Reproject();
  // Appends the raw projections and norm of one key; returns its norm level.
  int Append(uint32_t id, const float* key);

  size_t dim_ = 0, m_ = 0, L_ = 0;
  std::vector<float> dirs_;     // (m L) x (dim + 1) unit directions, row per simple index
  std::vector<uint32_t> ids_;   // inserted ids, increasing
  std::vector<float> raw_;      // per key: m L raw projections u[:dim] . k
  std::vector<float> sq_norm_;  // per key: |k|^2
  int level_ = 0;               // M^2 = 2^(level/2) once a key is in
  float m2_ = 0.0f;
  size_t rebuilds_ = 0;
  // The blocks of all lists (declared before them: a list leaves its blocks to the pool).
  std::unique_ptr<BlockPool> pool_;
  std::vector<SortedProjections> lists_;  // m L simple indices, composite-major
};

}  // namespace floe::ice
