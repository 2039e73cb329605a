#include "models/block_transformer/block_transformer_architecture.h"

#include <utility>

#include "models/block_transformer/block_transformer_model.h"

namespace floe {

namespace {

Result<BoundNetwork> FromCheckpoint(const TensorSet& tensors, CheckpointLayout,
                                    const MetadataView* config) {
  if (config == nullptr)
    return InvalidArgument(
        "Block Transformer checkpoint needs its config.json in the same directory "
        "(block_transformer_config + resolved per-component configs); none was found");
  FLOE_ASSIGN_OR_RETURN(BlockTransformerConfig c, BlockTransformerConfigFromJson(*config));
  FLOE_ASSIGN_OR_RETURN(BlockTransformerNetwork net, BindBlockTransformer(c, tensors));
  return BindNetwork<BlockTransformerModel>(std::move(net));
}

Result<BoundNetwork> FromGguf(const MetadataView&, const TensorSet&) {
  return Unsupported("block-transformer GGUF: not yet readable");
}

}  // namespace

const Architecture& BlockTransformerArchitecture() {
  static const Architecture a{
      .name = "block-transformer",
      .family = "Block Transformer: global block decoder + local token decoder (GPT-NeoX)",
      .from_gguf = FromGguf,
      .recognises = LooksLikeBlockTransformer,
      .from_checkpoint = FromCheckpoint,
      .write_gguf = nullptr,
      .presets = {},
      .random_types = {},
      .make_random = nullptr,
  };
  return a;
}

}  // namespace floe
