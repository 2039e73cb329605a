// `floe make-model`: benchmark models as GGUF files in the architecture's GGUF layout (llama.cpp's
// for llama, qwen2 and rwkv6), so peers load them.
//
// make-model writes a random-weight model of a preset shape of any architecture in the registry
// (runtime/engine/architectures.h; each architecture's presets and weight types are in its
// models/<arch>/<arch>_architecture.cc) with a valid SentencePiece vocabulary of the preset's
// size (<unk>, <s>, </s>, the 256 byte pieces, printable ASCII with and without the word prefix,
// then filler pieces). The float weights depend only on the preset and seed, so files of one
// seed in different types are quantizations of the same model.
#pragma once

#include <cstdint>
#include <string>

#include "models/architecture.h"
#include "platform/base/dtype.h"
#include "platform/base/status.h"

namespace floe {

struct MakeModelOptions {
  std::string arch = "llama";   // a registry name: llama, qwen2, rwkv6, transnormer
  std::string preset = "tiny";  // one of the architecture's presets
  DType type = DType::kF32;     // one of the architecture's random weight types (matrices)
  uint64_t seed = 1;
  // Trained context written to the metadata (0: the preset's 32768). Only the metadata changes:
  // the weights depend on the preset and seed alone, so a long-context file of one seed is the
  // same model (benchmarks at depths past 32k, e.g. IceFormer at 64k).
  size_t context_length = 0;
  // RoPE scaling written into the file (llama and qwen2): see RandomRopeScaling.
  RandomRopeScaling rope;
  std::string output_path;
};

Status MakeModelGguf(const MakeModelOptions& options);

// "f32" -> kF32 etc. for f32, f16, bf16, q8_0, q4_0, q4_1, q5_1, q4_K, q6_K; kInvalidArgument
// otherwise.
Result<DType> ParseDType(const std::string& name);

}  // namespace floe
