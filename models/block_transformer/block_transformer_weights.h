// Block Transformer weights, bound from a TensorSet under the official names
// (BlockTransformer.state_dict() of itsnamgyu/block-transformer):
//   embedder.embeddings.weight                               [V x d_e]   lookup table
//   {block,token}_decoder.gpt_neox.layers.N.
//       input_layernorm.{weight,bias}                        [D]
//       post_attention_layernorm.{weight,bias}               [D]
//       attention.query_key_value.{weight,bias}              [3D x D], [3D]  rows per head: q|k|v
//       attention.dense.{weight,bias}                        [D x D], [D]
//       mlp.dense_h_to_4h.{weight,bias}                      [F x D], [F]
//       mlp.dense_4h_to_h.{weight,bias}                      [D x F], [D]
//   {block,token}_decoder.gpt_neox.final_layer_norm.{weight,bias}   [D]
//   token_decoder.gpt_neox.embed_in.weight                   [V x D_t]
//   token_decoder.embed_out.weight                           [V x D_t]
//   token_decoder.expansion_layer.weight                     [P D_t x D_b x 1] (or [P D_t x D_b])
//   token_decoder.expansion_layer.bias                       [P D_t]
// block_decoder.gpt_neox.embed_in.weight is in official checkpoints but unused (the block
// decoder reads block embeddings), so it is not bound. Matrices stay views into the file;
// vectors become owned F32 arrays.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/block_transformer/block_transformer_config.h"
#include "platform/base/status.h"
#include "platform/base/tensor.h"
#include "platform/base/tensor_set.h"

namespace floe {

struct NeoxLayerWeights {
  const float *ln1_w = nullptr, *ln1_b = nullptr;  // input_layernorm
  const float *ln2_w = nullptr, *ln2_b = nullptr;  // post_attention_layernorm
  TensorView qkv;                                  // [3D x D]
  const float* qkv_b = nullptr;
  TensorView out;  // attention.dense [D x D]
  const float* out_b = nullptr;
  TensorView up;  // dense_h_to_4h [F x D]
  const float* up_b = nullptr;
  TensorView down;  // dense_4h_to_h [D x F]
  const float* down_b = nullptr;
};

struct NeoxWeights {
  std::vector<NeoxLayerWeights> layers;
  const float *final_w = nullptr, *final_b = nullptr;
};

struct BlockTransformerWeights {
  TensorView lookup;  // [V x d_e]
  NeoxWeights block;
  NeoxWeights token;
  TensorView token_embed;  // [V x D_t]
  TensorView head;         // [V x D_t]
  TensorView expand;       // [P D_t x D_b]
  const float* expand_b = nullptr;
  std::vector<std::unique_ptr<float[]>> owned;
  size_t bytes = 0;  // weight bytes
};

struct BlockTransformerNetwork {
  BlockTransformerConfig config;
  BlockTransformerWeights weights;
};

// True when the set holds official Block Transformer tensors.
bool LooksLikeBlockTransformer(const TensorSet& tensors);

// Binds every tensor the config implies, checking each shape against it; a missing or
// misshapen tensor is an error naming it and the config values behind the expected shape, and
// so is a layer beyond the configured count. `tensors` must outlive the result.
Result<BlockTransformerNetwork> BindBlockTransformer(const BlockTransformerConfig& config,
                                                     const TensorSet& tensors,
                                                     const char* source = "config.json");

}  // namespace floe
