// The attention flags shared by floe generate / logits / eval-attention:
//   --attention dense|ice|faiss  --knn-k K  --knn-window W  --knn-sinks S  --knn-dense-below N
//   --knn-search-block B  --knn-search-scale X   (queries per shared kNN
//   search; the keys it asks for, x k)
//   --knn-simple M  --knn-composite L  --knn-candidates C   (Prioritized DCI m, L, k1 / k)
//   --knn-levels N  --knn-fanout F   (multi-level DCI: levels, expected children per node)
//   --faiss-kind flat|hnsw  --faiss-m M  --faiss-ef-search E  --faiss-ef-construction C
#pragma once

#include <string>

#include "args.h"
#include "attention/attention_settings.h"

namespace floe::cli {

// Fills *s from the flags (unset flags keep *s's values). False with *err on a bad value;
// range checks are AttentionSettings::Validate's (the session reports them).
bool ParseAttentionFlags(Args& a, AttentionSettings* s, std::string* err);

// Usage lines for the flags above.
extern const char* kAttentionFlagsUsage;

}  // namespace floe::cli
