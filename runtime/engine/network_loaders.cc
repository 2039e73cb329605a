#include "runtime/engine/network_loaders.h"

#include <cstring>
#include <optional>

#include "platform/base/metadata_map.h"
#include "runtime/engine/architectures.h"
#include "runtime/engine/weight_families.h"
#include "runtime/formats/checkpoint/json_metadata.h"
#include "runtime/formats/checkpoint/llama2c_checkpoint.h"
#include "runtime/formats/checkpoint/rwkv_cpp_file.h"
#include "runtime/formats/checkpoint/safetensors.h"
#include "runtime/formats/checkpoint/torch_checkpoint.h"
#include "runtime/formats/gguf/gguf_source.h"
#include "runtime/tokenizers/byte_tokenizer.h"

namespace floe {

namespace {

// `tensors`: the file's tensors the network was bound from (their largest family names the type).
LoadedNetwork FromBound(BoundNetwork bound, const TensorSet& tensors) {
  LoadedNetwork net;
  net.weight_bytes = bound.weight_bytes;
  net.weight_type = LargestWeightFamilyType(tensors);
  net.lm = std::move(bound.lm);
  // A 256-token vocabulary with no tokenizer in the file means bytes (rwkv.cpp's tiny models).
  if (net.lm->vocab_size() == 256) net.implied_tokenizer = std::make_unique<ByteTokenizer>();
  return net;
}

}  // namespace

ModelFormat DetectModelFormat(const uint8_t* data, size_t size) {
  if (size >= 4 && std::memcmp(data, "GGUF", 4) == 0) return ModelFormat::kGguf;
  if (LooksLikeRwkvCppFile(data, size)) return ModelFormat::kRwkvCpp;
  if (size >= 4 && std::memcmp(data, "PK\x03\x04", 4) == 0) return ModelFormat::kTorch;
  if (size >= 9) {
    uint64_t header = 0;
    std::memcpy(&header, data, 8);
    if (header >= 2 && header <= size - 8 && data[8] == '{') return ModelFormat::kSafetensors;
  }
  return ModelFormat::kLlama2c;
}

const char* ModelFormatName(ModelFormat f) {
  switch (f) {
    case ModelFormat::kGguf:
      return "gguf";
    case ModelFormat::kLlama2c:
      return "llama2.c";
    case ModelFormat::kRwkvCpp:
      return "rwkv.cpp";
    case ModelFormat::kTorch:
      return "pytorch";
    case ModelFormat::kSafetensors:
      return "safetensors";
  }
  return "?";
}

namespace {

// A file in an architecture's GGUF layout (a GGUF, or a format read into that layout): the
// architecture is general.architecture.
Result<LoadedNetwork> FromGgufLayout(const MetadataView& metadata, const TensorSet& tensors) {
  if (!metadata.Has("general.architecture"))
    return CorruptData(std::string(metadata.source()) + " has no general.architecture key");
  FLOE_ASSIGN_OR_RETURN(std::string name, metadata.GetString("general.architecture"));
  const Architecture* arch = FindArchitecture(name);
  if (arch == nullptr)
    return Unsupported("architecture '" + name +
                       "' (general.architecture) is not supported; "
                       "supported: " +
                       ArchitectureNames());
  FLOE_ASSIGN_OR_RETURN(BoundNetwork bound, arch->from_gguf(metadata, tensors));
  return FromBound(std::move(bound), tensors);
}

}  // namespace

Result<LoadedNetwork> LoadNetworkFromGguf(const GgufFile& gguf) {
  return FromGgufLayout(GgufMetadata(gguf), GgufTensors(gguf));
}

Result<LoadedNetwork> LoadNetworkFromLlama2c(const uint8_t* data, size_t size) {
  FLOE_ASSIGN_OR_RETURN(auto file, ReadLlama2cAsGguf(data, size));
  return FromGgufLayout(file->metadata(), file->tensors());
}

namespace {

Result<LoadedNetwork> FromCheckpoint(const TensorSet& set, CheckpointLayout layout,
                                     const MetadataView* config, const char* format) {
  const Architecture* arch = RecogniseCheckpoint(set);
  if (arch == nullptr || arch->from_checkpoint == nullptr) {
    std::string supported;
    for (const Architecture* a : Architectures())
      if (a->recognises != nullptr)
        supported += std::string(supported.empty() ? "" : "; ") + a->name + " (" + a->family + ")";
    return Unsupported(std::string(format) +
                       " checkpoint of an unknown architecture (first tensor '" +
                       (set.tensors.empty() ? std::string() : set.tensors[0].name) +
                       "'); floe reads the official layouts of: " + supported);
  }
  FLOE_ASSIGN_OR_RETURN(BoundNetwork bound, arch->from_checkpoint(set, layout, config));
  return FromBound(std::move(bound), set);
}

}  // namespace

Result<TensorSet> ReadCheckpointTensors(ModelFormat format, const uint8_t* data, size_t size) {
  switch (format) {
    case ModelFormat::kTorch:
      return ReadTorchCheckpoint(data, size);
    case ModelFormat::kSafetensors:
      return ReadSafetensors(data, size);
    case ModelFormat::kRwkvCpp: {
      FLOE_ASSIGN_OR_RETURN(RwkvCppFile file, ReadRwkvCppFile(data, size));
      return std::move(file.tensors);
    }
    default:
      return InvalidArgument(std::string(ModelFormatName(format)) +
                             " files are not tensor checkpoints");
  }
}

Result<LoadedNetwork> LoadNetworkFromTensorFile(ModelFormat format, const uint8_t* data,
                                                size_t size, std::string_view config_json) {
  Result<TensorSet> set = ReadCheckpointTensors(format, data, size);
  if (!set.ok()) return set.status();
  set->Index();
  std::optional<JsonMetadata> config;
  if (!config_json.empty()) {
    auto parsed = JsonMetadata::Parse(config_json, "config.json");
    if (!parsed.ok()) return parsed.status();
    config.emplace(std::move(parsed).value());
  }
  return FromCheckpoint(*set, CheckpointLayout::kOfficial, config ? &*config : nullptr,
                        ModelFormatName(format));
}

Result<LoadedNetwork> LoadNetworkFromRwkvCpp(const uint8_t* data, size_t size) {
  FLOE_ASSIGN_OR_RETURN(RwkvCppFile file, ReadRwkvCppFile(data, size));
  file.tensors.Index();
  MetadataMap header("rwkv.cpp header");
  header.Set("n_vocab", int64_t(file.n_vocab));
  header.Set("n_embed", int64_t(file.n_embed));
  header.Set("n_layer", int64_t(file.n_layer));
  return FromCheckpoint(file.tensors, CheckpointLayout::kRwkvCpp, &header, "rwkv.cpp");
}

}  // namespace floe
