// TransNormerLLM in GGUF, architecture "transnormer" (floe's own; llama.cpp has none). Tensors
// keep the official Hugging Face names and types (model.embed_tokens.weight,
// model.layers.N.token_mixer.{qkvu_proj,out_proj}.weight, model.layers.N.token_mixer.lrpe.theta,
// model.layers.N.channel_mixer.{l1,l2,l3}.weight, lm_head.weight), ne = the PyTorch shape
// reversed. The hyperparameters config.json carried become these keys:
//   transnormer.vocab_size            u32   vocab_size
//   transnormer.embedding_length      u32   decoder_embed_dim (D)
//   transnormer.hidden_dim            u32   hidden_dim
//   transnormer.attention.head_count  u32   decoder_attention_heads
//   transnormer.block_count           u32   decoder_layers
//   transnormer.glu_dim               u32   glu_dim
//   transnormer.lrpe_layers           [i32] linear_use_lrpe_list (0/1 per layer)
//   transnormer.linear_act_fun        str   silu | relu | sigmoid | 1+elu | none
//   transnormer.scale_embedding       bool  !no_scale_embedding
//   transnormer.tie_word_embeddings   bool
//   transnormer.norm_eps              f32   SimpleRMSNorm epsilon
#pragma once

#include "models/transnormer/transnormer_weights.h"
#include "platform/base/metadata_view.h"
#include "platform/base/model_writer.h"
#include "platform/base/status.h"
#include "platform/base/tensor_set.h"

namespace floe {

// Config from the keys above (all required except norm_eps), tensors bound by name; views point
// into the file, which must outlive the network.
Result<TransnormerNetwork> TransnormerFromGguf(const MetadataView& metadata,
                                               const TensorSet& tensors);

// The keys above from `config`, and every tensor of `tensors` (official names) unchanged.
Status WriteTransnormerGguf(const TransnormerConfig& config, const TensorSet& tensors,
                            ModelWriter& out);

}  // namespace floe
