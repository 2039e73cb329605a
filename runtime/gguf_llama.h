// Architecture "llama" from GGUF metadata (llama.cpp keys and tensor names).
#pragma once

#include "models/llama/llama_config.h"
#include "runtime/gguf_reader.h"

namespace floe {

// llama.{context_length, embedding_length, block_count, feed_forward_length,
// attention.head_count, attention.head_count_kv, attention.key_length, rope.dimension_count,
// rope.freq_base, attention.layer_norm_rms_epsilon}; vocab size from token_embd's shape.
Result<LlamaConfig> LlamaConfigFromGguf(const GgufFile& f);
// Views of every tensor (in the mapped file); output.weight falls back to token_embd (tied).
Result<LlamaWeights> LlamaWeightsFromGguf(const GgufFile& f, const LlamaConfig& c);

}  // namespace floe
