// `floe convert`: a llama2.c checkpoint + tokenizer.bin -> a GGUF v3 file that llama.cpp's
// architecture "llama" understands (its metadata keys and tensor names, tokenizer embedded as
// an SPM vocabulary under tokenizer.ggml.*). Weights are written as f32 (the checkpoint's type).
// The checkpoint is loaded as any model and written by the registry's llama entry
// (convert_model.h).
#pragma once

#include <string>

#include "platform/base/status.h"

namespace floe {

struct ConvertLlama2cOptions {
  std::string checkpoint_path;
  std::string tokenizer_path;
  std::string output_path;
  std::string model_name;  // general.name; default: the checkpoint's file name
};

Status ConvertLlama2cToGguf(const ConvertLlama2cOptions& options);

}  // namespace floe
