// `floe convert` for RWKV-6: any model floe loads as rwkv6 (rwkv.cpp file, official .pth or
// safetensors) -> a GGUF v3 file in llama.cpp's "rwkv6" layout (runtime/gguf_rwkv6.h: its
// metadata keys, tensor names and shapes, separate lerp vectors, rescale_every_n_layers 0) with
// the vocabulary as a llama.cpp "rwkv" tokenizer (escaped byte strings). Large matrices keep
// their type (f32/f16/bf16); vectors and LoRA matrices are written as f32.
#pragma once

#include <string>

#include "platform/status.h"
#include "runtime/model.h"

namespace floe {

Status ConvertRwkv6ToGguf(const Model& model, const std::string& name, const std::string& output_path);

}  // namespace floe
