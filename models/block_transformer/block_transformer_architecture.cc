#include "models/block_transformer/block_transformer_architecture.h"

#include <utility>

#include "models/block_transformer/block_transformer_gguf.h"
#include "models/block_transformer/block_transformer_model.h"
#include "models/block_transformer/block_transformer_random.h"

namespace floe {

namespace {

constexpr ModelPreset kPresets[] = {
    {"tiny", "L_B 4, width 64 (lookup 16), 2 + 2 layers, 4 heads, 2 prefix vectors, vocab 512",
     512},
    {"b4-19m", "block_main_b4_19: L_B 4, width 512, 3 + 3 layers; pairs with pythia-70m", 50304},
    {"b4-85m", "block_main_b4_85: L_B 4, width 768, 6 + 6 layers; pairs with pythia-160m", 50304},
    {"b4-300m", "block_main_b4_300: L_B 4, width 1024, 12 + 12 layers; pairs with pythia-410m",
     50304},
    {"b4-800m", "block_main_b4_800: L_B 4, width 2048, 8 + 8 layers; pairs with pythia-1b", 50304},
    {"b4-1.2b", "block_main_b4_1.2b: L_B 4, width 2048, 12 + 12 layers; pairs with pythia-1.4b",
     50304},
};
constexpr DType kRandomTypes[] = {DType::kF32, DType::kF16, DType::kBF16};

Result<BoundNetwork> FromGguf(const MetadataView& metadata, const TensorSet& tensors) {
  FLOE_ASSIGN_OR_RETURN(BlockTransformerNetwork net, BlockTransformerFromGguf(metadata, tensors));
  return BindNetwork<BlockTransformerModel>(std::move(net));
}

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

Status WriteGguf(const CausalLm& model, const TensorSet&, ModelWriter& out) {
  const auto* lm = dynamic_cast<const BlockTransformerModel*>(&model);
  if (lm == nullptr)
    return InvalidArgument("not a Block Transformer model (architecture " + model.architecture() +
                           ")");
  return WriteBlockTransformerGguf(lm->config(), lm->weights(), out);
}

Status MakeRandom(const RandomModelOptions& o, ModelWriter& out,
                  const std::function<Status()>& finish) {
  FLOE_ASSIGN_OR_RETURN(BlockTransformerConfig shape, BlockTransformerPresetShape(o.preset));
  if (o.context_length > 0) shape.context_length = o.context_length;
  FLOE_ASSIGN_OR_RETURN(auto random, MakeRandomBlockTransformer(shape, o.seed, o.type));
  FLOE_ASSIGN_OR_RETURN(BlockTransformerNetwork net,
                        BindBlockTransformer(random->config, random->tensors, "the preset"));
  FLOE_ASSIGN_OR_RETURN(auto lm, BlockTransformerModel::Create(std::move(net)));
  FLOE_RETURN_IF_ERROR(WriteGguf(*lm, random->tensors, out));
  return finish();
}

}  // namespace

const Architecture& BlockTransformerArchitecture() {
  static const Architecture a{
      .name = "block-transformer",
      .family = "Block Transformer: global block decoder + local token decoder (GPT-NeoX)",
      .from_gguf = FromGguf,
      .recognises = LooksLikeBlockTransformer,
      .from_checkpoint = FromCheckpoint,
      .write_gguf = WriteGguf,
      .presets = kPresets,
      .random_types = kRandomTypes,
      .make_random = MakeRandom,
  };
  return a;
}

}  // namespace floe
