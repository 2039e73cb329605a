// The kNN backends behind KnnIndex, by AttentionSettings::backend: ice = Prioritized DCI
// (attention/knn/dci/), faiss = FAISS (attention/knn/faiss/, present when floe is built with
// FLOE_WITH_FAISS). Everything above the backends creates its indexes here; knn_backends.cc is
// the one file that names them all.
#pragma once

#include <cstddef>
#include <memory>

#include "attention/attention_settings.h"
#include "attention/knn/knn_index.h"
#include "platform/base/status.h"

namespace floe {

// Whether this build has backend b (ice: always; faiss: with FAISS; dense is no kNN backend).
bool KnnBackendAvailable(AttentionBackend b);

// A new, empty index for the keys (`dim` floats each) of (layer, kv_head) under settings s:
// ice: a DCI with s.dci, its directions seeded per (layer, kv_head) (ice::IndexSeed); faiss: a
// FAISS index with s.faiss (kUnsupported without FAISS). kInvalidArgument for any other backend.
Result<std::unique_ptr<KnnIndex>> MakeKnnIndex(const AttentionSettings& s, size_t dim, size_t layer,
                                               size_t kv_head);

}  // namespace floe
