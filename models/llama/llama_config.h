// Llama-family hyperparameters and weights (Llama 2, llama2.c checkpoints, SmolLM, ...).
// Architectures are data: everything here comes from file metadata via runtime/ loaders.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "platform/base/status.h"
#include "platform/base/tensor.h"

namespace floe {

enum class RopeStyle {
  kInterleaved,  // pairs (x[2i], x[2i+1]): llama2.c, llama.cpp LLAMA_ROPE_TYPE_NORM
  kHalfSplit,    // pairs (x[i], x[i+d/2]): GPT-NeoX, llama.cpp LLAMA_ROPE_TYPE_NEOX
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
std::string Layer(size_t layer, const char* suffix);  // Layer(3, "attn_q") = "blk.3.attn_q.weight"
std::string LayerBias(size_t layer, const char* suffix);  // "blk.3.attn_q.bias"
}  // namespace llama_names

}  // namespace floe
