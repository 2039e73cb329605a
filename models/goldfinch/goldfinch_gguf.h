// The "goldfinch" GGUF layout (documented in docs/models/goldfinch.md). Tensor names follow
// llama.cpp's rwkv6 names for the Finch parts (token_embd, token_embd_norm, blk.N.attn_norm,
// time_mix_lerp_x, time_mix_w1, time_mix_decay, channel_mix_key, ...) and add
// time_mix_lerp_v2 / time_mix_value2_w{1,2} (Finch-C2), gold_* (GOLD layers) and
// kv_cache_a / kv_cache_b (TokenCat). Every tensor keeps the official shape and orientation
// (LoRA matrices stay [in x out]), so a file binds through the same checks as the .pth.
// Keys (goldfinch.*): embedding_length, block_count, feed_forward_length, wkv.head_size,
// first_gold_layer, kv_cache_a_dim, use_one_minus_w, use_v2, time_mix_extra_dim,
// time_decay_extra_dim, time_value2_extra_dim, gold.time_mix_extra_dim, gold.value_extra_dim,
// attention.layer_norm_epsilon; each is checked against the tensors.
#pragma once

#include "models/goldfinch/goldfinch_weights.h"
#include "platform/base/metadata_view.h"
#include "platform/base/model_writer.h"
#include "platform/base/tensor_set.h"

namespace floe {

// `tensors` under their GGUF names; views point into the file, which must outlive the network.
Result<GoldfinchNetwork> GoldfinchFromGguf(const MetadataView& metadata, const TensorSet& tensors);

// Writes the keys and every tensor of `source` (official or GGUF names) under its GGUF name,
// unchanged. `source` must hold the tensors `config` was bound from.
Status WriteGoldfinchGguf(const GoldfinchConfig& config, const TensorSet& source, ModelWriter& out);

}  // namespace floe
