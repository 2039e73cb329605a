// TransNormerLLM weights, bound from a TensorSet (pytorch_model.bin or model.safetensors) under
// the official Hugging Face names:
//   model.embed_tokens.weight                         [V x D]
//   model.layers.N.token_mixer.qkvu_proj.weight       [4 Hd x D]  (q, k, v, u stacked, heads
//   inside) model.layers.N.token_mixer.out_proj.weight        [D x Hd]
//   model.layers.N.token_mixer.lrpe.theta             (H, 1, D/H)  only on LRPE layers
//   model.layers.N.channel_mixer.l1 / l2 .weight      [G x D]
//   model.layers.N.channel_mixer.l3.weight            [D x G]
//   lm_head.weight                                    [V x D]  (absent / ignored when tied)
// SimpleRMSNorm has no parameters and biases are not supported, so there is nothing else.
// Matrices stay views into the file (F32/F16/BF16); theta is converted to an owned F32 copy.
#pragma once

#include <memory>
#include <vector>

#include "models/transnormer/transnormer_config.h"
#include "platform/base/status.h"
#include "platform/base/tensor.h"
#include "platform/base/tensor_set.h"

namespace floe {

struct TransnormerLayerWeights {
  TensorView qkvu;               // [4 Hd x D]
  TensorView out;                // [D x Hd]
  const float* theta = nullptr;  // [H x head_dim] LRPE angles per position, null without LRPE
  TensorView l1, l2;             // [G x D]
  TensorView l3;                 // [D x G]
};

struct TransnormerWeights {
  TensorView embed;    // [V x D]
  TensorView lm_head;  // [V x D]; the embedding itself when tied
  std::vector<TransnormerLayerWeights> layers;
  std::vector<std::unique_ptr<float[]>> owned;
  size_t bytes = 0;  // weight bytes read per token
};

struct TransnormerNetwork {
  TransnormerConfig config;
  TransnormerWeights weights;
};

// True when the set holds TransNormerLLM tensors (model.layers.0.token_mixer.qkvu_proj.weight).
bool LooksLikeTransnormer(const TensorSet& tensors);

// Binds every tensor the config implies, checking each shape against it; a missing or
// misshapen tensor is an error naming it, and so is an LRPE theta on a layer the config does
// not give LRPE, or a layer beyond decoder_layers. `tensors` must outlive the result.
Result<TransnormerNetwork> BindTransnormer(const TransnormerConfig& config,
                                           const TensorSet& tensors);

}  // namespace floe
