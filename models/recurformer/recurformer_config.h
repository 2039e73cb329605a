// RecurFormer (Yan et al. 2024, "RecurFormer: Not All Transformer Heads Need Self-Attention",
// arXiv 2410.12850): a Llama whose recency-aware attention heads are replaced by Mamba-1 blocks.
// Per layer, a list of replaced KV heads (with GQA, every query head of a replaced KV head is
// replaced); one Mamba-1 mixer per layer that has any reads the layer's normed attention input
// and writes the replaced query heads' slots of the attention output (ascending head order,
// head_dim each), before the output projection. Only the kept heads have a KV cache.
#pragma once

#include <cstddef>
#include <vector>

#include "models/llama/llama_config.h"
#include "models/mamba/mamba_config.h"
#include "models/mamba/mamba_weights.h"

namespace floe {

struct RecurformerConfig {
  LlamaConfig llama;  // arch "recurformer"; interleaved RoPE, no biases
  // The mixers' shape: d_model = llama.dim, d_inner, d_state, d_conv, dt_rank, norm_eps (unused:
  // the mixer reads the attention norm's output); vocab_size and n_layer mirror the Llama's.
  MambaConfig ssm;
  std::vector<std::vector<size_t>> recurrent;  // per layer: replaced KV heads, ascending

  size_t group() const { return llama.n_heads / llama.n_kv_heads; }
  bool has_mixer(size_t layer) const { return !recurrent[layer].empty(); }
  bool is_recurrent(size_t layer, size_t kv_head) const;
  size_t kept_kv_heads(size_t layer) const { return llama.n_kv_heads - recurrent[layer].size(); }
  // The mixer's output width: the replaced query heads' slots.
  size_t mixer_out(size_t layer) const {
    return recurrent[layer].size() * group() * llama.head_dim;
  }
  // Errors name the key: head indices outside [0, n_kv_heads), repeated or unsorted; a mixer
  // shape the Mamba bounds refuse; RoPE scaling (not supported here).
  Status Validate() const;
};

struct RecurformerWeights {
  LlamaWeights llama;
  MambaWeights mamba;  // layers[l] bound only where config.has_mixer(l); owns converted arrays
};

struct RecurformerNetwork {
  RecurformerConfig config;
  RecurformerWeights weights;
};

}  // namespace floe
