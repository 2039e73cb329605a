#include "attention/knn/knn_backends.h"

#include <string>

#include "attention/knn/dci/dci_knn_index.h"
#include "attention/knn/faiss/faiss_knn.h"

namespace floe {

bool KnnBackendAvailable(AttentionBackend b) {
  switch (b) {
    case AttentionBackend::kIce:
      return true;
    case AttentionBackend::kFaiss:
      return FaissAvailable();
    default:
      return false;
  }
}

Result<std::unique_ptr<KnnIndex>> MakeKnnIndex(const AttentionSettings& s, size_t dim, size_t layer,
                                               size_t kv_head) {
  switch (s.backend) {
    case AttentionBackend::kIce:
      return ice::NewDciKnnIndex(dim, s.dci, ice::IndexSeed(s.dci.seed, layer, kv_head));
    case AttentionBackend::kFaiss:
      return NewFaissKnnIndex(dim, s.faiss);
    default:
      return InvalidArgument(std::string("attention backend '") + AttentionBackendName(s.backend) +
                             "' has no kNN index");
  }
}

}  // namespace floe
