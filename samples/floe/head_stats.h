// Per-head attention statistics on real text (floe analyze-heads, floe plan-heads): for each
// (layer, query head), over sampled query positions p, with P_p the exact softmax attention of
// the query over keys [0, p]:
//   recent[w] = sum of P_p over the last w keys (p - w, p], w = 16, 64, 256 (RecurFormer,
//               arXiv 2410.12850: the attention mass of "recency-aware" heads sits there)
//   entropy   = -sum P_p log P_p (nats): low for sharp heads, high for broad ones
//   top32     = the mass of the 32 largest weights (how well k = 32 kNN keys can cover it)
// averaged over the positions. Exact attention is the dense kernel's: the session uses the ice
// backend with dense_below above the context, so every query is computed densely and reaches the
// attention probe with its query vector and the cache.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "runtime/engine/model.h"

namespace floe::cli {

inline constexpr std::array<size_t, 3> kRecentWindows = {16, 64, 256};
inline constexpr size_t kTopKeys = 32;

struct HeadStats {
  std::array<double, 3> recent{};  // means, kRecentWindows order
  double entropy = 0;
  double top32 = 0;
  size_t queries = 0;
};

struct HeadStatsTable {
  size_t n_layers = 0, n_heads = 0, n_kv_heads = 0;
  std::vector<HeadStats> heads;  // [layer * n_heads + head], query heads
  const HeadStats& at(size_t layer, size_t head) const { return heads[layer * n_heads + head]; }
  // A KV head: the least local of its query heads (smallest recent[], largest entropy,
  // smallest top32), since its mode serves all of them.
  HeadStats KvHead(size_t layer, size_t kv_head) const;
};

// The tokens (no BOS) of the bytes of file `path` from byte `begin` (moved to the next line start
// when > 0) to `end` (0 = the end of the file), by the model's tokenizer.
Result<std::vector<int32_t>> ReadTextTokens(const Model& model, const std::string& path,
                                            size_t begin, size_t end);
// Where the last `frac` of a file's bytes begins (a line start), and the file's size.
Result<std::pair<size_t, size_t>> HeldOutStart(const std::string& path, double frac);

// Runs each window (BOS + ctx - 1 tokens each, from `tokens`) through an exact session and
// measures every `every`-th position p >= min_pos. Errors: a model without attention heads (no
// query reached the probe), session errors.
Result<HeadStatsTable> MeasureHeadStats(const Model& model, std::span<const int32_t> tokens,
                                        size_t ctx, size_t windows, size_t every, size_t min_pos,
                                        int threads);

}  // namespace floe::cli
