// Block Transformer (Ho et al. 2024, "Block Transformer: Global-to-Local Language Modeling for
// Fast Inference", arXiv 2406.02657) hyperparameters, as the official code
// (itsnamgyu/block-transformer) builds them: a lookup embedder (model/embedder/lookup.py, the
// "concat" projection of model/embedder/base.py), a GPT-NeoX block decoder
// (model/block_decoder/gpt_neo_x.py) and a GPT-NeoX token decoder with the 'prefix' decoding
// strategy (model/token_decoder/base.py, gpt_neo_x.py). Official checkpoints carry them in a
// config.json beside model.safetensors: the repo's config under "block_transformer_config" and
// the per-component Hugging Face configs the loader resolved under "resolved"; floe's GGUF
// carries them as block-transformer.* keys (block_transformer_gguf.h).
#pragma once

#include <cstddef>

#include "platform/base/metadata_view.h"
#include "platform/base/status.h"

namespace floe {

// One GPT-NeoX stack (transformers' GPTNeoXConfig, the variant the official code uses:
// parallel residual, biases everywhere, exact gelu, rotate-half rotary on the first rot_dim
// dims of every head).
struct NeoxConfig {
  size_t hidden = 0;  // D
  size_t layers = 0;
  size_t heads = 0;
  size_t ffn = 0;      // intermediate_size
  size_t rot_dim = 0;  // int(head_dim * rotary_pct), even
  float rope_base = 10000.0f;
  float ln_eps = 1e-5f;

  size_t head_dim() const { return heads ? hidden / heads : 0; }
};

struct BlockTransformerConfig {
  size_t vocab_size = 0;         // embedder and token decoder share it (no token mapper)
  size_t block_length = 0;       // L_B
  size_t embedder_dim = 0;       // lookup width; block embedding = L_B lookups concatenated
  size_t expansion_ratio = 0;    // P: prefix vectors per block (n_embedding_tokens = 1)
  size_t context_length = 2048;  // tokens (max_position_embeddings is per decoder)
  NeoxConfig block;              // block decoder: hidden = L_B * embedder_dim
  NeoxConfig token;              // token decoder

  // Tokens of local (token-decoder) cache a sequence ever holds: the P prefix vectors plus the
  // block's tokens (the last token of a block is never fed: it completes the block).
  size_t local_capacity() const { return expansion_ratio + block_length; }

  // Positive sizes, consistent widths (block decoder width = L_B x embedder width, heads
  // dividing widths, rotary dims even and inside a head), plausible bounds. Errors name the
  // key they come from.
  Status Validate() const;
};

// From the official config.json (see above). Variants floe does not compute are kUnsupported
// naming the key (decoding strategies other than 'prefix', other embedders or decoders,
// n_embedding_tokens > 1, sequential residual, other activations, rope scaling).
Result<BlockTransformerConfig> BlockTransformerConfigFromJson(const MetadataView& config);

}  // namespace floe
