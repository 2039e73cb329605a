// What an architecture is to the runtime: one Architecture value per architecture, defined in
// models/<arch>/ beside its config, tensor names, weights binding, forward pass and random
// initialisation, and listed once in the registry (runtime/engine/architectures.cc). Loading,
// `floe convert`, `floe inspect` and `floe make-model` reach an architecture only through this
// value, so adding one is a folder here plus one line there (docs/add-an-architecture.md).
//
// Every function receives format-neutral inputs (platform types): a MetadataView of the file's
// hyperparameters and a TensorSet of its tensors, whatever file they came from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "models/causal_lm.h"
#include "platform/base/dtype.h"
#include "platform/base/metadata_view.h"
#include "platform/base/model_writer.h"
#include "platform/base/status.h"
#include "platform/base/tensor_set.h"

namespace floe {

// A network bound to its weights (views into the file, or owned by the network).
struct BoundNetwork {
  std::unique_ptr<CausalLm> lm;
  size_t weight_bytes = 0;  // bytes of weights read per token
};

// A network whose weights carry their byte count (`net.weights.bytes`) bound by Model::Create.
template <class Model, class Network>
Result<BoundNetwork> BindNetwork(Network net) {
  BoundNetwork out;
  out.weight_bytes = net.weights.bytes;
  FLOE_ASSIGN_OR_RETURN(out.lm, Model::Create(std::move(net)));
  return out;
}

// Which names and layout a checkpoint's tensors use (other than GGUF's).
enum class CheckpointLayout {
  kOfficial,  // the paper's official PyTorch code (state_dict names), .pth/.bin/safetensors
  kRwkvCpp,   // rwkv.cpp's files (official names, some tensors transposed or reshaped)
};

struct ModelPreset {
  const char* name;         // --preset
  const char* description;  // "dim 2048, 16 layers, ..." or the paper's model it mirrors
  size_t vocab_size;        // the runtime writes a synthetic vocabulary of this size
};

// RoPE scaling written into a random model's file (make-model --rope-*), for architectures whose
// Architecture::rope_scaling is set: "linear" and "yarn" as {arch}.rope.scaling.* keys, "llama3"
// as the rope_freqs.weight tensor that convert_hf_to_gguf.py computes from Llama 3.1's
// rope_scaling (factor, low_freq_factor, high_freq_factor, original_max_position_embeddings).
struct RandomRopeScaling {
  std::string type;             // empty: no scaling; "none", "linear", "yarn" or "llama3"
  float factor = 0.0f;          // > 0 for linear, yarn and llama3
  size_t original_context = 0;  // yarn: 0 writes no key (llama.cpp then uses the context);
                                // llama3: 0 means convert_hf_to_gguf.py's default 8192
  float attn_factor = 0.0f;     // > 0 writes rope.scaling.attn_factor
  float low_freq_factor = 1.0f, high_freq_factor = 4.0f;  // llama3
};

struct RandomModelOptions {
  std::string preset;
  DType type = DType::kF32;  // weight matrices; one of the architecture's random_types
  uint64_t seed = 1;
  size_t context_length = 0;  // 0: the preset's; metadata only, the weights do not depend on it
  RandomRopeScaling rope;     // only where Architecture::rope_scaling
};

struct Architecture {
  const char* name;    // general.architecture in GGUF, and --arch
  const char* family;  // for listings: "Llama family (GQA, RoPE, SwiGLU)"

  // A GGUF's metadata (keys "<name>.*") and tensors (under their GGUF names).
  Result<BoundNetwork> (*from_gguf)(const MetadataView& metadata, const TensorSet& tensors);

  // Checkpoints in another layout: `recognises` tells from the tensor names whether a file is
  // this architecture's; `from_checkpoint` binds it. `config` is the Hugging Face config.json
  // beside the checkpoint (or a format header such as rwkv.cpp's), null when there is none.
  // Both null for an architecture that has no such checkpoints.
  bool (*recognises)(const TensorSet& tensors);
  Result<BoundNetwork> (*from_checkpoint)(const TensorSet& tensors, CheckpointLayout layout,
                                          const MetadataView* config);

  // `floe convert`: writes a network this architecture loaded (lm.architecture() is `name`) as
  // GGUF metadata and tensors; `source` holds the tensors it was loaded from (some
  // architectures copy them unchanged). The runtime adds general.* keys and the vocabulary.
  // Null when the architecture's GGUF comes from elsewhere (llama.cpp's converters).
  Status (*write_gguf)(const CausalLm& lm, const TensorSet& source, ModelWriter& out);

  // `floe make-model`: random weights of a preset's shape, written to `out`; `finish` writes
  // the file and must be called while the weights are alive (make_random returns its status).
  std::span<const ModelPreset> presets;
  std::span<const DType> random_types;
  Status (*make_random)(const RandomModelOptions& options, ModelWriter& out,
                        const std::function<Status()>& finish);
  // make_random writes RandomModelOptions::rope (others refuse it in the runtime).
  bool rope_scaling = false;
};

}  // namespace floe
