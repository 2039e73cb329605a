#include "attention/attention_settings.h"

#include <string>

namespace floe {

const char* AttentionBackendName(AttentionBackend b) {
  switch (b) {
    case AttentionBackend::kDense: return "dense";
    case AttentionBackend::kIce: return "ice";
    case AttentionBackend::kFaiss: return "faiss";
  }
  return "unknown";
}

Result<AttentionBackend> ParseAttentionBackend(std::string_view name) {
  if (name == "dense") return AttentionBackend::kDense;
  if (name == "ice") return AttentionBackend::kIce;
  if (name == "faiss") return AttentionBackend::kFaiss;
  return InvalidArgument("unknown attention backend '" + std::string(name) +
                         "' (choose dense or ice)");
}

Status AttentionSettings::Validate(size_t context_length) const {
  switch (backend) {
    case AttentionBackend::kDense: return Status::Ok();
    case AttentionBackend::kIce: break;
    case AttentionBackend::kFaiss:
      return Unsupported("attention backend 'faiss' is not implemented yet; use dense or ice");
    default:
      return InvalidArgument("unknown attention backend " + std::to_string(int(backend)) +
                             " (choose dense or ice)");
  }
  auto bad = [](const std::string& m) { return InvalidArgument("ice attention: " + m); };
  if (k == 0) return bad("k (keys retrieved per query) must be at least 1");
  if (k > (size_t{1} << 20)) return bad("k = " + std::to_string(k) + " is implausibly large");
  if (window > context_length)
    return bad("window " + std::to_string(window) + " is larger than the context length " +
               std::to_string(context_length));
  if (sinks > context_length)
    return bad("sink count " + std::to_string(sinks) + " is larger than the context length " +
               std::to_string(context_length));
  if (dci.simple_indices == 0 || dci.simple_indices > 32)
    return bad("DCI simple indices per composite index must be in [1, 32], not " +
               std::to_string(dci.simple_indices));
  if (dci.composite_indices == 0 || dci.composite_indices > 32)
    return bad("DCI composite indices must be in [1, 32], not " +
               std::to_string(dci.composite_indices));
  if (dci.candidates_per_k == 0 || dci.candidates_per_k > 4096)
    return bad("DCI candidates per k must be in [1, 4096], not " +
               std::to_string(dci.candidates_per_k));
  return Status::Ok();
}

}  // namespace floe
