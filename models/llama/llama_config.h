// Llama-family hyperparameters and weights (Llama 2, llama2.c checkpoints, SmolLM, ...).
// Architectures are data: everything here comes from file metadata via runtime/ loaders.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "platform/base/status.h"
#include "platform/base/tensor.h"
#include "platform/kernels/rope_scaling.h"

namespace floe {

enum class RopeStyle {
  kInterleaved,  // pairs (x[2i], x[2i+1]): llama2.c, llama.cpp LLAMA_ROPE_TYPE_NORM
  kHalfSplit,    // pairs (x[i], x[i+d/2]): GPT-NeoX, llama.cpp LLAMA_ROPE_TYPE_NEOX
};

// {arch}.rope.scaling.type values llama.cpp runs for these architectures.
enum class RopeScalingType { kNone, kLinear, kYarn };
const char* RopeScalingTypeName(RopeScalingType t);  // "none", "linear", "yarn"

// RoPE scaling as the GGUF file states it (llama.cpp's keys and defaults, llama-model.cpp
// load_hparams); LlamaConfig::rope_scaling() turns it into the rotation's parameters.
struct LlamaRopeScaling {
  // {arch}.rope.scaling.type. llama.cpp reads an absent key as "linear", which without a factor
  // scales nothing.
  RopeScalingType type = RopeScalingType::kLinear;
  float factor = 0.0f;  // {arch}.rope.scaling.factor (or the older rope.scale_linear); 0: absent
  float attn_factor = 1.0f;     // {arch}.rope.scaling.attn_factor
  size_t original_context = 0;  // {arch}.rope.scaling.original_context_length; 0: absent
  // The rope_freqs.weight tensor (Llama 3.1's "llama3" rope type, as convert_hf_to_gguf.py
  // writes it): empty, or rope_dim/2 values > 0 that divide the pairs' frequencies.
  std::vector<float> freq_factors;
};

struct LlamaConfig {
  // "llama" (Llama 2/3, SmolLM, TinyLlama, Mistral) or "qwen2" (q/k/v projections have biases,
  // NeoX half-split RoPE): the GGUF general.architecture and key prefix.
  std::string arch = "llama";
  bool qkv_bias = false;
  size_t dim = 0;
  size_t n_layers = 0;
  size_t n_heads = 0;
  size_t n_kv_heads = 0;
  size_t head_dim = 0;  // dim / n_heads unless the file says otherwise
  size_t ffn_dim = 0;
  size_t vocab_size = 0;
  size_t context_length = 0;
  size_t rope_dim = 0;  // dims rotated per head (<= head_dim)
  float rope_freq_base = 10000.0f;
  float rms_eps = 1e-5f;
  RopeStyle rope_style = RopeStyle::kInterleaved;
  LlamaRopeScaling rope_file;  // as the file states it

  // What llama.cpp's context derives from the file (llama_init_from_model with default
  // context parameters): freq_scale = 1/factor unless the type is none; YaRN's ext_factor 1,
  // beta_fast 32, beta_slow 1 and original context (default: context_length); the attn factor.
  RopeScaling rope_scaling() const;
  // The context a session may use: context_length, or with YaRN factor s > 1 the window it
  // extends to, s * original context (Peng et al. 2023: s = L' / L), when that is longer (a
  // Qwen2 file converted with YaRN keeps context_length = original_context_length).
  size_t usable_context() const;
  size_t q_dim() const { return n_heads * head_dim; }
  size_t kv_dim() const { return n_kv_heads * head_dim; }
  // InvalidArgument naming the inconsistent field (e.g. n_heads not a multiple of n_kv_heads).
  Status Validate() const;
};

struct LlamaLayerWeights {
  TensorView attn_norm;                   // [dim]
  TensorView wq, wk, wv, wo;              // [q_dim x dim], [kv_dim x dim] x2, [dim x q_dim]
  TensorView bq, bk, bv;                  // qkv_bias only: [q_dim], [kv_dim] x2, f32
  TensorView ffn_norm;                    // [dim]
  TensorView ffn_gate, ffn_up, ffn_down;  // [ffn x dim] x2, [dim x ffn]
};

struct LlamaWeights {
  TensorView token_embd;   // [vocab x dim]
  TensorView output_norm;  // [dim]
  TensorView output;       // [vocab x dim]; the same view as token_embd when tied
  std::vector<LlamaLayerWeights> layers;
};

// Checks every tensor's presence, dtype and shape against the config. Errors name the tensor
// with its GGUF name, e.g. "blk.3.attn_q.weight: expected 64x64, got 64x32".
Status ValidateLlamaWeights(const LlamaConfig& config, const LlamaWeights& weights);

// The GGUF tensor-name table for architecture "llama" (llama.cpp names).
namespace llama_names {
inline const char* kTokenEmbd = "token_embd.weight";
inline const char* kOutputNorm = "output_norm.weight";
inline const char* kOutput = "output.weight";
inline const char* kRopeFreqs = "rope_freqs.weight";  // optional: LlamaRopeScaling::freq_factors
std::string Layer(size_t layer, const char* suffix);  // Layer(3, "attn_q") = "blk.3.attn_q.weight"
std::string LayerBias(size_t layer, const char* suffix);  // "blk.3.attn_q.bias"
}  // namespace llama_names

}  // namespace floe
