#include "attention/attention_settings.h"

#include <string>

#include "attention/knn/knn_backends.h"

namespace floe {

const char* AttentionBackendName(AttentionBackend b) {
  switch (b) {
    case AttentionBackend::kDense:
      return "dense";
    case AttentionBackend::kIce:
      return "ice";
    case AttentionBackend::kFaiss:
      return "faiss";
  }
  return "unknown";
}

Result<AttentionBackend> ParseAttentionBackend(std::string_view name) {
  if (name == "dense") return AttentionBackend::kDense;
  if (name == "ice") return AttentionBackend::kIce;
  if (name == "faiss") return AttentionBackend::kFaiss;
  return InvalidArgument("unknown attention backend '" + std::string(name) +
                         "' (choose dense, ice or faiss)");
}

const char* FaissKindName(FaissKind k) {
  switch (k) {
    case FaissKind::kFlat:
      return "flat";
    case FaissKind::kHnsw:
      return "hnsw";
  }
  return "unknown";
}

Result<FaissKind> ParseFaissKind(std::string_view name) {
  if (name == "flat") return FaissKind::kFlat;
  if (name == "hnsw") return FaissKind::kHnsw;
  return InvalidArgument("unknown FAISS index kind '" + std::string(name) +
                         "' (choose flat or hnsw)");
}

Status AttentionSettings::Validate(size_t context_length) const {
  switch (backend) {
    case AttentionBackend::kDense:
      return Status::Ok();
    case AttentionBackend::kIce:
      break;
    case AttentionBackend::kFaiss:
      if (!KnnBackendAvailable(AttentionBackend::kFaiss))
        return Unsupported(
            "attention backend 'faiss': floe was built without FAISS "
            "(FLOE_WITH_FAISS=OFF); use dense or ice");
      break;
    default:
      return InvalidArgument("unknown attention backend " + std::to_string(int(backend)) +
                             " (choose dense, ice or faiss)");
  }
  const std::string who = AttentionBackendName(backend);
  auto bad = [&who](const std::string& m) { return InvalidArgument(who + " attention: " + m); };
  if (k == 0) return bad("k (keys retrieved per query) must be at least 1");
  if (k > (size_t{1} << 20)) return bad("k = " + std::to_string(k) + " is implausibly large");
  if (window > context_length)
    return bad("window " + std::to_string(window) + " is larger than the context length " +
               std::to_string(context_length));
  if (sinks > context_length)
    return bad("sink count " + std::to_string(sinks) + " is larger than the context length " +
               std::to_string(context_length));
  if (search_block == 0 || search_block > 1024)
    return bad("search block (queries per shared kNN search) must be in [1, 1024], not " +
               std::to_string(search_block));
  if (!(search_scale >= 1.0f && search_scale <= 64.0f))
    return bad("search scale (keys a shared search asks for, x k) must be in [1, 64], not " +
               std::to_string(search_scale));
  if (backend == AttentionBackend::kFaiss) {
    if (faiss.kind != FaissKind::kFlat && faiss.kind != FaissKind::kHnsw)
      return bad("unknown FAISS index kind " + std::to_string(int(faiss.kind)) +
                 " (choose flat or hnsw)");
    if (faiss.hnsw_m < 2 || faiss.hnsw_m > 256)
      return bad("HNSW M (graph degree) must be in [2, 256], not " + std::to_string(faiss.hnsw_m));
    if (faiss.ef_search == 0 || faiss.ef_search > 65536)
      return bad("HNSW efSearch must be in [1, 65536], not " + std::to_string(faiss.ef_search));
    if (faiss.ef_construction == 0 || faiss.ef_construction > 65536)
      return bad("HNSW efConstruction must be in [1, 65536], not " +
                 std::to_string(faiss.ef_construction));
    return Status::Ok();
  }
  if (dci.simple_indices == 0 || dci.simple_indices > 32)
    return bad("DCI simple indices per composite index must be in [1, 32], not " +
               std::to_string(dci.simple_indices));
  if (dci.composite_indices == 0 || dci.composite_indices > 32)
    return bad("DCI composite indices must be in [1, 32], not " +
               std::to_string(dci.composite_indices));
  if (dci.candidates_per_k == 0 || dci.candidates_per_k > 4096)
    return bad("DCI candidates per k must be in [1, 4096], not " +
               std::to_string(dci.candidates_per_k));
  if (dci.levels == 0 || dci.levels > 4)
    return bad("DCI levels must be in [1, 4], not " + std::to_string(dci.levels));
  if (dci.levels > 1 && (dci.fanout < 2 || dci.fanout > 4096))
    return bad("DCI fanout (children per node of a multi-level index) must be in [2, 4096], not " +
               std::to_string(dci.fanout));
  return Status::Ok();
}

}  // namespace floe
