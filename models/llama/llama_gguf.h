// Architectures "llama" and "qwen2" from GGUF metadata and tensors (llama.cpp keys and tensor
// names), read through the format-neutral views runtime/formats gives.
#pragma once

#include "models/llama/llama_config.h"
#include "platform/base/metadata_view.h"
#include "platform/base/model_writer.h"
#include "platform/base/tensor_set.h"

namespace floe {

// llama.{context_length, embedding_length, block_count, feed_forward_length,
// attention.head_count, attention.head_count_kv, attention.key_length, rope.dimension_count,
// rope.freq_base, attention.layer_norm_rms_epsilon}; vocab size from token_embd's shape.
// RoPE scaling: rope.scaling.{type, factor, attn_factor, original_context_length} (and the older
// rope.scale_linear) and the rope_freqs.weight tensor, read as llama.cpp reads them; an unknown
// or unsupported (longrope) type, a factor <= 0 and a rope_freqs that is not rope_dim/2 positive
// f32 values are errors.
Result<LlamaConfig> LlamaConfigFromGguf(const MetadataView& f, const TensorSet& tensors);
// Views of every tensor (in the mapped file); output.weight falls back to token_embd (tied).
Result<LlamaWeights> LlamaWeightsFromGguf(const TensorSet& f, const LlamaConfig& c);

// The inverse: the keys above under "<config.arch>." and every tensor under its GGUF name, in
// its stored type (output.weight only when not tied to the embedding; rope_freqs.weight from
// the config when it has frequency factors). Data is not copied: `c` must outlive `out`.
Status WriteLlamaGguf(const LlamaConfig& c, const LlamaWeights& w, ModelWriter& out);

}  // namespace floe
