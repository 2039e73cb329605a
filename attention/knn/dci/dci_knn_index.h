// The Prioritized DCI of one (layer, KV head) behind the KnnIndex interface (backend "ice"):
// candidates are k * candidates_per_k per composite index, at most max_visits visits per
// simple index. With params.levels >= 2, the multi-level variant (multilevel_dci.h) with the
// same budget. Both kinds build the same index from the same keys however they are added
// (InsertBatch sorts once into an empty index).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "attention/attention_settings.h"
#include "attention/knn/dci/multilevel_dci.h"
#include "attention/knn/dci/prioritized_dci.h"
#include "attention/knn/knn_index.h"
#include "platform/base/status.h"

namespace floe::ice {

// The DCI backend's part of a KnnScratch (KnnScratch::Get<DciKnnScratch>()).
struct DciKnnScratch final : KnnScratch::Part {
  DciScratch dci;           // Prioritized DCI: visit marks and walkers
  MultiLevelScratch multi;  // multi-level DCI: the kept nodes of each level
};

Result<std::unique_ptr<KnnIndex>> NewDciKnnIndex(size_t dim, const DciParams& params,
                                                 uint64_t seed);

// Seed of the index of (layer, kv_head): a fixed mix of the settings' seed, so that the
// directions are independent per (layer, KV head).
uint64_t IndexSeed(uint64_t seed, size_t layer, size_t kv_head);

}  // namespace floe::ice
