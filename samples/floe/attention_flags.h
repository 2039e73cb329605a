// The attention flags, the same in every verb that runs a session (generate, logits,
// eval-attention, bench), in the "Attention" help group:
//   --attention dense|ice|faiss  --knn-k K  --knn-window W  --knn-sinks S  --knn-dense-below N
//   --knn-search-block B  --knn-search-scale X   (queries per shared kNN search; the keys it
//                                                  asks for, x k)
//   --knn-simple M  --knn-composite L  --knn-candidates C   (Prioritized DCI m, L, k1 / k)
//   --knn-levels N  --knn-fanout F   (multi-level DCI: levels, expected children per node)
//   --faiss-kind flat|hnsw  --faiss-m M  --faiss-ef-search E  --faiss-ef-construction C
//   --gold-kv-cache   (GoldFinch: materialise the GOLD layers' keys and values; ice implies it)
// Counts must be integers >= 0 and the backend / FAISS kind one of the names (checked while
// parsing); the ranges that depend on each other or on the context are
// AttentionSettings::Validate's, reported when the session is created.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "attention/attention_settings.h"
#include "attention/head_plan.h"

namespace floe::cli {

// Adds the flags above bound to *s (which must outlive the parse); unset flags keep *s's values,
// which help shows as the defaults. A prefix renames them for a second setting ("b-":
// --b-attention, --b-knn-k, ...; floe longdoc compare) in the help group `group`.
void AddAttentionFlags(CLI::App* app, AttentionSettings* s, const std::string& prefix = "",
                       const std::string& group = "Attention");

// --head-plan FILE: a head-plan JSON file (docs/attention/head-plans.md), read and checked while
// parsing (a bad file is a usage error naming it); whether its heads exist in the model is
// checked when the session is created. The file's path goes to *path_out when given.
void AddHeadPlanFlag(CLI::App* app, std::optional<HeadPlan>* plan,
                     const std::string& group = "Attention", std::string* path_out = nullptr);

}  // namespace floe::cli
