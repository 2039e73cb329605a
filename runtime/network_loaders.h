// From a file's contents to a CausalLm: one entry point per source format, dispatching on the
// architecture. Model::Load detects the format (DetectModelFormat) and calls these; adding an
// architecture means adding a branch in network_loaders.cc and nothing in Model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "models/causal_lm.h"
#include "platform/status.h"
#include "runtime/gguf_reader.h"

namespace floe {

enum class ModelFormat { kGguf, kLlama2c };
// From the first bytes: "GGUF" -> kGguf; otherwise a llama2.c checkpoint (which has no magic;
// its own parser validates it).
ModelFormat DetectModelFormat(const uint8_t* data, size_t size);
const char* ModelFormatName(ModelFormat f);

struct LoadedNetwork {
  std::unique_ptr<CausalLm> lm;
  size_t weight_bytes = 0;  // bytes of weights the network reads per token (mapped or owned)
};

// general.architecture -> the matching loader ("llama"); kUnsupported names the architecture
// and lists the supported ones. Tensor views point into `gguf`, which must outlive the result.
Result<LoadedNetwork> LoadNetworkFromGguf(const GgufFile& gguf);

// A llama2.c checkpoint (legacy or v1 "ak42"); views point into data, which must outlive it.
Result<LoadedNetwork> LoadNetworkFromLlama2c(const uint8_t* data, size_t size);

}  // namespace floe
