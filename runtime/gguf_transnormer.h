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

#include <string>

#include "models/transnormer/transnormer_weights.h"
#include "platform/status.h"
#include "runtime/gguf_reader.h"

namespace floe {

// Config from the keys above (all required except norm_eps), tensors bound by name; views point
// into `gguf`, which must outlive the network.
Result<TransnormerNetwork> TransnormerFromGguf(const GgufFile& gguf);

// `floe convert` for TransNormerLLM: the official checkpoint (pytorch_model.bin or
// model.safetensors) + its config.json -> GGUF as above.
Status ConvertTransnormerToGguf(const std::string& checkpoint_path, const std::string& name,
                                const std::string& output_path);

}  // namespace floe
