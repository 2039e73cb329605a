// TransNormerLLM (Qin et al. 2023, "TransNormerLLM: A Faster and Better Large Language Model
// with Improved TransNormer", arXiv 2307.14995) hyperparameters, read from the Hugging Face
// config.json that save_pretrained writes beside the weights (OpenNLPLab's
// configuration_transnormer.py names the keys). The checkpoint's tensors carry no
// hyperparameters beyond their shapes, so the loader needs this file.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/metadata_view.h"
#include "platform/base/status.h"

namespace floe {

// The feature map applied to q and k (linear_act_fun; utils.get_activation_fn). The official
// code silently falls back to the identity for a name it does not know; floe accepts only the
// names below ("none"/"identity" being that identity explicitly) and rejects the rest.
enum class TransnormerActivation { kSilu, kRelu, kSigmoid, kOnePlusElu, kIdentity };

struct TransnormerConfig {
  size_t vocab_size = 0;
  size_t embed_dim = 0;    // decoder_embed_dim: the residual width D
  size_t hidden_dim = 0;   // hidden_dim: width of q, k, v, u (all heads)
  size_t n_heads = 0;      // decoder_attention_heads
  size_t n_layers = 0;     // decoder_layers (>= 2: the slope scaling divides by n_layers - 1)
  size_t glu_dim = 0;      // glu_dim (-1 in the file means embed_dim)
  std::vector<bool> lrpe;  // per layer: LRPE on q and k (linear_use_lrpe_list)
  TransnormerActivation act = TransnormerActivation::kSilu;
  bool scale_embedding = true;      // !no_scale_embedding: embeddings times sqrt(D)
  bool tie_word_embeddings = true;  // PretrainedConfig's default when the key is absent
  float norm_eps = 1e-6f;           // SimpleRMSNorm (norm.py)

  size_t head_dim() const { return hidden_dim / n_heads; }  // d_v, and d_k without LRPE
  size_t key_dim(size_t layer) const { return lrpe[layer] ? 2 * head_dim() : head_dim(); }
  // Floats of one sequence's recurrent state buffer: H d_k d_v per layer.
  size_t state_floats() const {
    size_t n = 0;
    for (size_t l = 0; l < n_layers; ++l) n += hidden_dim * key_dim(l);
    return n;
  }

  // Positive sizes, heads dividing hidden_dim (and embed_dim, the width LRPE's theta is built
  // for), one LRPE flag per layer, LRPE layers only when hidden_dim == embed_dim (the official
  // Lrpe has embed_dim / heads angles per head), plausible sizes (head size <= 1024, state
  // <= 1 GiB per sequence). Errors name the key.
  Status Validate() const;
};

// The config from the keys of the Hugging Face config.json (read by runtime/formats as a
// MetadataView). Shape keys are required; behaviour keys default as the official
// TransnormerConfig does. Unsupported variants are kUnsupported naming the key: norm_type other
// than simplermsnorm (the official code then uses nn.LayerNorm), bias = true.
Result<TransnormerConfig> TransnormerConfigFromHfConfig(const MetadataView& config);

// linear_act_fun names (silu/swish, relu, sigmoid, 1+elu, none/identity) <-> the enum.
Result<TransnormerActivation> ParseTransnormerActivation(const std::string& name);
const char* TransnormerActivationName(TransnormerActivation a);

// Per-head base decay rates of _build_slope_tensor (ALiBi's geometric slopes): for a power of
// two n, start = 2^(-8/n) and slope_i = start^(i+1); otherwise the slopes of the closest lower
// power of two p followed by every other slope of 2p. Computed in double, as Python does.
std::vector<double> TransnormerBaseSlopes(size_t n_heads);

// Decay rate of head h in layer l, as the official forward pass computes it in float32:
// slope_h * (1 - l / (L - 1) + 1e-5); the decay per token is lambda = exp(-rate).
float TransnormerDecayRate(const TransnormerConfig& c, size_t layer, size_t head);

}  // namespace floe
