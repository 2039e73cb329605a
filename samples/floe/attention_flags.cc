#include "attention_flags.h"

namespace floe::cli {

const char* kAttentionFlagsUsage =
    "           [--attention dense|ice|faiss] [--knn-k K] [--knn-window W] [--knn-sinks S]\n"
    "           [--knn-dense-below N] [--knn-search-block B] [--knn-search-scale X]\n"
    "           [--knn-simple M] [--knn-composite L] [--knn-candidates C] [--knn-levels N] [--knn-fanout F]\n"
    "           [--faiss-kind flat|hnsw] [--faiss-m M] [--faiss-ef-search E] [--faiss-ef-construction C]\n";

bool ParseAttentionFlags(Args& a, AttentionSettings* s, std::string* err) {
  if (a.Has("--attention")) {
    auto b = ParseAttentionBackend(a.Get("--attention", "", ""));
    if (!b.ok()) {
      *err = b.status().message();
      return false;
    }
    s->backend = b.value();
  }
  if (a.Has("--faiss-kind")) {
    auto k = ParseFaissKind(a.Get("--faiss-kind", "", ""));
    if (!k.ok()) {
      *err = k.status().message();
      return false;
    }
    s->faiss.kind = k.value();
  }
  struct Field {
    const char* flag;
    size_t* value;
  };
  const Field fields[] = {{"--knn-k", &s->k},
                          {"--knn-window", &s->window},
                          {"--knn-sinks", &s->sinks},
                          {"--knn-dense-below", &s->dense_below},
                          {"--knn-search-block", &s->search_block},
                          {"--knn-simple", &s->dci.simple_indices},
                          {"--knn-composite", &s->dci.composite_indices},
                          {"--knn-candidates", &s->dci.candidates_per_k},
                          {"--knn-levels", &s->dci.levels},
                          {"--knn-fanout", &s->dci.fanout},
                          {"--faiss-m", &s->faiss.hnsw_m},
                          {"--faiss-ef-search", &s->faiss.ef_search},
                          {"--faiss-ef-construction", &s->faiss.ef_construction}};
  for (const Field& f : fields) {
    const long v = a.GetInt(f.flag, "", long(*f.value));
    if (!a.ok()) {
      *err = a.error();
      return false;
    }
    if (v < 0) {
      *err = std::string("option ") + f.flag + " must not be negative";
      return false;
    }
    *f.value = size_t(v);
  }
  s->search_scale = float(a.GetFloat("--knn-search-scale", "", s->search_scale));
  if (!a.ok()) {
    *err = a.error();
    return false;
  }
  return true;
}

}  // namespace floe::cli
