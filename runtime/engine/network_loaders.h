// From a file's contents to a CausalLm: one entry point per source format, each finding the
// architecture in the registry (runtime/engine/architectures.h). Model::Load detects the format
// (DetectModelFormat) and calls these; adding an architecture changes nothing here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "models/causal_lm.h"
#include "platform/base/status.h"
#include "platform/base/tensor_set.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/tokenizers/tokenizer.h"

namespace floe {

enum class ModelFormat { kGguf, kLlama2c, kRwkvCpp, kTorch, kSafetensors };
// From the first bytes: "GGUF" -> kGguf; the rwkv.cpp magic -> kRwkvCpp; a zip local header
// ("PK\3\4") -> kTorch (torch.save: .pth, pytorch_model.bin); a u64 header length that fits
// the file followed by '{' -> kSafetensors; otherwise a llama2.c checkpoint (which has no
// magic; its own parser validates it).
ModelFormat DetectModelFormat(const uint8_t* data, size_t size);
const char* ModelFormatName(ModelFormat f);

struct LoadedNetwork {
  std::unique_ptr<CausalLm> lm;
  size_t weight_bytes = 0;  // bytes of weights the network reads per token (mapped or owned)
  // The file's type for the model's weights: that of its largest weight family
  // (LargestWeightFamilyType), e.g. "f16"; "?" when unknown.
  std::string weight_type = "?";
  // The vocabulary the format implies when the file carries none (rwkv.cpp's byte-level tiny
  // models); null otherwise.
  std::unique_ptr<Tokenizer> implied_tokenizer;
};

// general.architecture -> the matching loader ("llama"); kUnsupported names the architecture
// and lists the supported ones. Tensor views point into `gguf`, which must outlive the result.
Result<LoadedNetwork> LoadNetworkFromGguf(const GgufFile& gguf);

// A llama2.c checkpoint (legacy or v1 "ak42"); views point into data, which must outlive it.
Result<LoadedNetwork> LoadNetworkFromLlama2c(const uint8_t* data, size_t size);

// An rwkv.cpp file (RWKV-6, FP32/FP16); views point into data, which must outlive it. A
// 256-token vocabulary implies the byte tokenizer.
Result<LoadedNetwork> LoadNetworkFromRwkvCpp(const uint8_t* data, size_t size);

// A checkpoint of named tensors in the official PyTorch layout (kTorch or kSafetensors),
// dispatched on its tensor names: RWKV-6 (blocks.0.att.time_maa_x), TransNormerLLM
// (model.layers.0.token_mixer.qkvu_proj.weight). Views point into data. `config_json` is the
// text of the Hugging Face config.json found beside the checkpoint, empty when there is none;
// architectures whose hyperparameters live only there (TransNormerLLM) fail clearly without
// it, the others ignore it.
// The tensors of a kTorch, kSafetensors or kRwkvCpp file (views into data).
Result<TensorSet> ReadCheckpointTensors(ModelFormat format, const uint8_t* data, size_t size);

Result<LoadedNetwork> LoadNetworkFromTensorFile(ModelFormat format, const uint8_t* data,
                                                size_t size, std::string_view config_json = {});

}  // namespace floe
