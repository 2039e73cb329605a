// `floe convert` for checkpoints in another layout: any model floe loads whose architecture
// writes GGUF (the registry's write_gguf: RWKV-6 from rwkv.cpp / .pth / safetensors into
// llama.cpp's "rwkv6" layout, TransNormerLLM from its Hugging Face checkpoint + config.json into
// floe's "transnormer" layout; see each architecture's docs page) -> a GGUF v3 file, with the
// model's vocabulary where it has one (RWKV world and byte vocabularies as a llama.cpp "rwkv"
// tokenizer of escaped byte strings). llama2.c checkpoints go through convert_llama2c.h.
#pragma once

#include <string>

#include "platform/base/status.h"
#include "runtime/engine/model.h"

namespace floe {

Status ConvertModelToGguf(const Model& model, const std::string& name,
                          const std::string& output_path);

}  // namespace floe
