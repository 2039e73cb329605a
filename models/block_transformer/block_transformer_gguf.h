// floe's "block-transformer" GGUF layout, read into and written from a Block Transformer
// network. Keys (K = "block-transformer."):
//   K.context_length                 tokens
//   K.block_length                   L_B
//   K.embedder_length                lookup width d_e (block decoder width = L_B d_e)
//   K.expansion_ratio                P (prefix vectors per block)
//   K.{block,token}_decoder.embedding_length / block_count / attention.head_count /
//     feed_forward_length / rope.dimension_count / rope.freq_base /
//     attention.layer_norm_epsilon
// Tensors (PyTorch shape order), S = bd (block decoder) or td (token decoder):
//   lookup_embd.weight [V, d_e]            embedder.embeddings.weight
//   S.blk.N.attn_norm.{weight,bias}        layers.N.input_layernorm
//   S.blk.N.ffn_norm.{weight,bias}         layers.N.post_attention_layernorm
//   S.blk.N.attn_qkv.{weight,bias}         layers.N.attention.query_key_value
//   S.blk.N.attn_output.{weight,bias}      layers.N.attention.dense
//   S.blk.N.ffn_up.{weight,bias}           layers.N.mlp.dense_h_to_4h
//   S.blk.N.ffn_down.{weight,bias}         layers.N.mlp.dense_4h_to_h
//   S.output_norm.{weight,bias}            final_layer_norm
//   td.token_embd.weight [V, D_t]          token_decoder.gpt_neox.embed_in.weight
//   td.output.weight [V, D_t]              token_decoder.embed_out.weight
//   td.expand.weight [P D_t, D_b], td.expand.bias   token_decoder.expansion_layer
// The vocabulary size is lookup_embd's row count.
#pragma once

#include <string>

#include "models/block_transformer/block_transformer_weights.h"
#include "platform/base/metadata_view.h"
#include "platform/base/model_writer.h"
#include "platform/base/tensor_set.h"

namespace floe {

Result<BlockTransformerNetwork> BlockTransformerFromGguf(const MetadataView& metadata,
                                                         const TensorSet& tensors);

// Matrices keep their type; vectors are written f32.
Status WriteBlockTransformerGguf(const BlockTransformerConfig& config,
                                 const BlockTransformerWeights& weights, ModelWriter& out);

// The GGUF name of an official tensor name ("" when it has none).
std::string BlockTransformerGgufName(const std::string& official);

}  // namespace floe
