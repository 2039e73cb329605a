// FAISS-backed kNN index of one (layer, KV head) for the "faiss" attention backend (FAISS:
// Johnson, Douze & Jegou, "Billion-scale similarity search with GPUs", 2017; the Debian
// libfaiss-dev 1.7.3 static library):
//   - flat: faiss::IndexFlatIP, exact maximum inner product search;
//   - hnsw: faiss::IndexHNSWFlat (HNSW, Malkov & Yashunin 2018) with the L2 metric over the
//     keys under the MIPS -> nearest-neighbour transform (Bachrach et al. 2014), as the DCI
//     index does: k -> (k, sqrt(M^2 - |k|^2)), q -> (M q / |q|, 0), so the nearest augmented
//     key is the key of largest q . k. M^2 is kept on the grid of knn/norm_bound.h (2^(level/2),
//     the smallest >= every |k|^2); a key beyond it raises M and re-adds every key to a fresh
//     index. (HNSW with FAISS's inner-product metric on the raw keys was tried first: its
//     graph leaves small-norm keys unreachable, and recall stayed low even with a search beam
//     larger than the key count; docs/results/faiss.md.)
// The causal constraint is exact: every search passes a faiss::IDSelectorRange over the
// admissible ids in its SearchParameters, so FAISS never returns a later key.
//
// Threads: FAISS parallelises with OpenMP. floe calls it from oneTBB tasks, where an OpenMP
// team per call would oversubscribe the cores (and fight TBB). Every FAISS call below runs
// under a guard that sets THIS thread's OpenMP thread count to 1 (omp_set_num_threads acts on
// the calling thread's ICVs, so it must be done on each TBB worker, per call) and restores
// the caller's value after, so FAISS runs single-threaded inside the task and never starts an
// OpenMP team; the parallelism is floe's (over tokens x heads, and over heads for Add). HNSW
// searches call faiss::HNSW::search directly (single-threaded by contract), which also skips
// IndexHNSW::search's unlocked update of the global faiss::hnsw_stats: concurrent searches
// from TBB tasks share no mutable state.
//
// Determinism: keys are added to HNSW one at a time, so the graph depends only on the keys
// and their order (FAISS draws levels from the index's own seeded generator): streaming,
// chunked prefill and a rebuild from the cache on restore give the same graph and results.
// (An HNSW search for position p still walks the edges of keys indexed after p, filtered out
// of its results: decoding token by token answers a little differently from a prefill
// chunk that indexed later keys first.)
// FAISS exceptions never escape: they become Status errors.
#pragma once

#include <memory>

#include "attention/attention_settings.h"
#include "attention/knn/knn_index.h"

namespace floe {

// True when floe was built with FAISS (FLOE_WITH_FAISS).
bool FaissAvailable();

// A new, empty FAISS index for keys of `dim` floats. kUnsupported without FAISS.
Result<std::unique_ptr<KnnIndex>> NewFaissKnnIndex(size_t dim, const FaissParams& params);

}  // namespace floe
