// A head plan: the attention each (layer, KV head) of a sequence uses, so that every head gets
// the cheapest attention that keeps the output (docs/attention/head-plans.md). The observation
// behind it is RecurFormer's (Yan et al., "RecurFormer: Not All Transformer Heads Need
// Self-Attention", arXiv 2410.12850): many heads are "recency-aware", their attention weight
// sits on the last few tokens, while others look far back sharply or broadly. Modes:
//   dense      every key, exact softmax attention (attention/dense/)
//   knn        IceFormer kNN attention with this head's own k, recent window and sinks
//              (attention/knn/; the other kNN parameters are the session's AttentionSettings)
//   window     only the last W keys, kept in a ring buffer: the query at p attends to
//              (p - W, p] exactly, and nothing older is stored
//   recurrent  the head's output comes from a recurrent block instead of attention (a Mamba
//              block in a RecurFormer checkpoint): accepted only by models that have one
// A plan names a default mode and per-head exceptions; Resolve turns it into one mode per
// (layer, KV head) of a given model, refusing what the model cannot take.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/status.h"

namespace floe {

// Stable values.
enum class HeadMode : int32_t { kDense = 0, kKnn = 1, kWindow = 2, kRecurrent = 3 };
const char* HeadModeName(HeadMode m);  // "dense", "knn", "window", "recurrent", "unknown"
// The names above; anything else is kInvalidArgument naming the choices.
Result<HeadMode> ParseHeadMode(std::string_view name);

// One head's attention. knn uses k, window and sinks (AttentionSettings' meaning); window
// uses window (W >= 1); dense and recurrent use none.
struct HeadSpec {
  HeadMode mode = HeadMode::kDense;
  size_t k = 32;
  size_t window = 256;
  size_t sinks = 4;
  bool operator==(const HeadSpec&) const = default;
  std::string ToString() const;  // "dense", "knn(k=32,window=256,sinks=4)", "window(64)", ...
};

struct HeadPlanEntry {
  size_t layer = 0;
  size_t head = 0;  // KV head
  HeadSpec spec;
};

// The plan (for every head of one model) after Resolve.
struct ResolvedHeadPlan {
  size_t n_layers = 0, n_kv_heads = 0;
  std::vector<HeadSpec> specs;  // [layer * n_kv_heads + head]
  const HeadSpec& at(size_t layer, size_t head) const { return specs[layer * n_kv_heads + head]; }
  size_t count(HeadMode m) const;
};

struct HeadPlan {
  HeadSpec default_spec;              // heads the entries do not name
  std::vector<HeadPlanEntry> heads;   // at most one per (layer, head)

  // One spec per (layer, KV head) of a model with n_layers x n_kv_heads heads and a context of
  // n_ctx positions. kInvalidArgument, naming the head, for: a layer or head the model lacks, a
  // head named twice, a window of 0, knn with k = 0 or k > 2^20 or a window or sink count larger
  // than n_ctx, an unknown mode; recurrent heads unless allow_recurrent (the model has
  // recurrent blocks in those places). A window head's W larger than n_ctx becomes n_ctx.
  Result<ResolvedHeadPlan> Resolve(size_t n_layers, size_t n_kv_heads, size_t n_ctx,
                                   bool allow_recurrent) const;
};

}  // namespace floe
