// How a sequence's tokens attend to each other: exact dense attention, or IceFormer kNN
// attention (Mao, Ester & Li, "IceFormer: Accelerated Inference with Long-Sequence
// Transformers on CPUs", ICLR 2024, arXiv 2405.02842) whose key search is Prioritized DCI
// (Li & Malik, "Fast k-Nearest Neighbour Search via Prioritized DCI", ICML 2017), or, with
// the faiss backend, a FAISS index (exact inner product, or HNSW: Malkov & Yashunin 2018).
//
// With the ice and faiss backends, a query at position p attends to the union of
//   - the first `sinks` positions [0, S),
//   - the most recent `window` positions (p - W, p],
//   - the `k` keys of [S, p - W] with the largest q.k, as found by the kNN index,
// each counted once, with the usual softmax scale 1/sqrt(head_dim). Queries that see fewer
// than `dense_below` keys, and queries whose eligible set has at most k keys, are computed
// exactly (the union then is every key).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "platform/base/status.h"

namespace floe {

// Stable values (the C API's floe_attention_backend mirrors them).
enum class AttentionBackend : int32_t {
  kDense = 0,  // exact causal softmax attention
  kIce = 1,    // IceFormer: top-k keys from a Prioritized DCI index + window + sinks
  kFaiss = 2,  // the same, the top-k from a FAISS index (FaissParams); kUnsupported when
               // floe was built without FAISS (FLOE_WITH_FAISS=OFF)
};

const char* AttentionBackendName(AttentionBackend b);  // "dense", "ice", "faiss", "unknown"
// "dense" | "ice" | "faiss"; anything else is kInvalidArgument naming the choices.
Result<AttentionBackend> ParseAttentionBackend(std::string_view name);

// Prioritized DCI parameters (Li & Malik 2017, Algorithm 2: m simple indices in each of L
// composite indices; a composite index stops after retrieving k1 candidates or visiting k0
// projections per simple index).
//
// Defaults: m = 2, L = 8, k1 = 8 k, chosen on the keys and queries of real runs (tests/
// ice_recall_test.cc, `floe eval-attention`); the measurements behind them are in
// docs/attention/ice.md and docs/results/ice.md. More composite indices (L) cut the variance of
// one unlucky set of directions; m = 2 keeps the traversal cheap. The candidate budget scales
// with k, not with the context.
struct DciParams {
  size_t simple_indices = 2;     // m: simple indices per composite index (1..32)
  size_t composite_indices = 8;  // L: composite indices (1..32)
  size_t candidates_per_k = 8;   // k1 = candidates_per_k * k, per composite index
  size_t max_visits = 0;         // k0: projections visited per simple index; 0 = no cap
  // Multi-level variant (attention/knn/dci/multilevel_dci.h): 1 = one Prioritized DCI over all
  // keys; 2..4 = keys spread over that many levels, each key under its nearest key of the level
  // above, with the DCI over the top level only (about n / fanout^(levels - 1) keys).
  // Default 2 levels, fanout 32: chosen against 1 level at the same candidate budget for recall,
  // decode speed and index size (docs/attention/ice.md, "Multi-level DCI"; figures in
  // docs/results/ice.md). A smaller fanout raises recall but slows decode: each insert scans
  // n / fanout nodes.
  size_t levels = 2;                  // 1..4
  size_t fanout = 32;                 // expected children per node (2..4096; levels >= 2 only)
  uint64_t seed = 0x1cef0c3a5eedULL;  // projection directions; mixed with (layer, kv head)
};

// Which FAISS index holds the keys (stable values; the C API's floe_faiss_kind mirrors them).
enum class FaissKind : int32_t {
  kFlat = 0,  // IndexFlatIP: exact inner-product search (brute force inside FAISS)
  kHnsw = 1,  // IndexHNSWFlat with the inner-product metric: approximate, sublinear
};
const char* FaissKindName(FaissKind k);  // "flat", "hnsw", "unknown"
// "flat" | "hnsw"; anything else is kInvalidArgument naming the choices.
Result<FaissKind> ParseFaissKind(std::string_view name);

// FAISS backend parameters (attention/knn/faiss/faiss_knn.h). HNSW (Malkov & Yashunin 2018) over
// the MIPS -> nearest-neighbour transformed keys; every search admits only the causal id range (an
// IDSelectorRange), so the result is causal by construction.
//
// Defaults: M = 16, efConstruction = 200, efSearch = 256, chosen on stories-long-2k with `floe
// eval-attention` (docs/attention/faiss.md; figures in docs/results/faiss.md). The graph
// quality (efConstruction) matters as much as the search beam: these keys, augmented to one
// sphere, crowd near its pole.
struct FaissParams {
  FaissKind kind = FaissKind::kHnsw;
  size_t hnsw_m = 16;            // graph degree M (2..256)
  size_t ef_search = 256;        // HNSW search beam (1..65536; a value below k acts as k)
  size_t ef_construction = 200;  // HNSW build beam (1..65536)
};

struct AttentionSettings {
  AttentionBackend backend = AttentionBackend::kDense;
  // IceFormer defaults (docs/attention/ice.md): k = 32 retrieved keys; a recent window of 256
  // and 4 sink tokens, which hold most of the attention mass of local heads and of the first
  // token that many heads park attention on ("attention sinks", Xiao et al. 2023), so the kNN
  // budget goes to the far context (window sizes compared in docs/results/ice.md).
  // dense_below = 1024: below that many keys dense attention is exact and cheaper than the
  // index search.
  size_t k = 32;              // keys retrieved by the kNN search per query and head
  size_t window = 256;        // W: most recent positions always attended
  size_t sinks = 4;           // S: first positions always attended
  size_t dense_below = 1024;  // a query seeing fewer keys than this attends densely
  // Shared searches (ice backend; a FAISS search returns exactly the keys asked for, too few to
  // share, so faiss queries always search alone): the queries of one head at the positions of a
  // block [b B, (b + 1) B), B = search_block, share one kNN search, made by the block's first
  // kNN query over the keys up to its own position, asking for ceil(search_scale * k) keys (DCI:
  // that many times candidates_per_k per composite index); every query of the block ranks all
  // those candidates exactly and keeps its own top-k of the ones in its eligible range. The
  // candidates are carried across calls (ice::SharedCandidates, part of the sequence state), so
  // prefill chunks and decode steps retrieve alike, however the sequence is cut. Causal: a
  // query's candidates depend only on earlier tokens. 1 = every query searches alone for k.
  // Defaults 16 and 1.25: about the recall of one search per query at a fraction of the search
  // cost (docs/attention/ice.md, "Shared searches"; figures in docs/results/ice.md).
  size_t search_block = 16;    // 1..1024
  float search_scale = 1.25f;  // 1..64
  DciParams dci;               // ice backend
  FaissParams faiss;           // faiss backend
  // GoldFinch (docs/models/goldfinch.md): keep the keys and values of every GOLD layer, which
  // are otherwise rebuilt from the compressed TokenCat cache at each step, materialised as a
  // speed cache (f32, 2 x GOLD layers x D values per token, built during prefill). Implied by
  // the kNN backends on GOLD layers, whose index is built from these keys. Models whose keys are
  // not rebuilt ignore it.
  bool gold_kv_cache = false;

  // Checks the settings for a sequence of `context_length` positions. kInvalidArgument for an
  // unknown backend, k = 0, a window or sink count larger than the context, or DCI parameters
  // out of range (DCI ones for ice, FAISS ones for faiss); kUnsupported for faiss in a build
  // without FAISS. Dense ignores the kNN fields.
  Status Validate(size_t context_length) const;
};

}  // namespace floe
