#include "models/goldfinch/goldfinch_architecture.h"

#include <utility>

#include "models/goldfinch/goldfinch_gguf.h"
#include "models/goldfinch/goldfinch_model.h"
#include "models/goldfinch/goldfinch_random.h"

namespace floe {

namespace {

constexpr ModelPreset kPresets[] = {
    {"tiny", "test size: D 64, 6 layers (4 Finch-C2 + 2 GOLD), FFN 224, head 32, vocab 256", 256},
    {"small", "D 768, 12 layers (8 Finch-C2 + 4 GOLD), FFN 2688, head 64, vocab 65536", 65536},
    {"1b5",
     "the paper's 1.5B class: D 2048, 24 layers (16 Finch-C2 + 8 GOLD), FFN 7168, "
     "head 64, vocab 65536",
     65536},
};
constexpr DType kRandomTypes[] = {DType::kF32, DType::kF16, DType::kBF16};

Result<BoundNetwork> FromGguf(const MetadataView& metadata, const TensorSet& tensors) {
  FLOE_ASSIGN_OR_RETURN(GoldfinchNetwork net, GoldfinchFromGguf(metadata, tensors));
  return BindNetwork<GoldfinchModel>(std::move(net));
}

// `config` is the official config.json beside the checkpoint, checked against the tensors.
Result<BoundNetwork> FromCheckpoint(const TensorSet& tensors, CheckpointLayout layout,
                                    const MetadataView* config) {
  if (layout != CheckpointLayout::kOfficial)
    return Unsupported("goldfinch checkpoints come only in the official layout");
  FLOE_ASSIGN_OR_RETURN(GoldfinchNetwork net, BindGoldfinch(tensors, config));
  return BindNetwork<GoldfinchModel>(std::move(net));
}

Status WriteGguf(const CausalLm& model, const TensorSet& source, ModelWriter& out) {
  const auto* lm = dynamic_cast<const GoldfinchModel*>(&model);
  if (lm == nullptr)
    return InvalidArgument("not a GoldFinch model (architecture " + model.architecture() + ")");
  return WriteGoldfinchGguf(lm->config(), source, out);
}

Status MakeRandom(const RandomModelOptions& o, ModelWriter& out,
                  const std::function<Status()>& finish) {
  FLOE_ASSIGN_OR_RETURN(GoldfinchConfig shape, GoldfinchPresetShape(o.preset));
  FLOE_ASSIGN_OR_RETURN(auto random, MakeRandomGoldfinch(shape, o.seed, o.type));
  FLOE_ASSIGN_OR_RETURN(GoldfinchNetwork net, BindGoldfinch(random->tensors, nullptr));
  FLOE_ASSIGN_OR_RETURN(auto lm, GoldfinchModel::Create(std::move(net)));
  FLOE_RETURN_IF_ERROR(WriteGguf(*lm, random->tensors, out));
  if (o.context_length > 0) out.SetUint32("goldfinch.context_length", uint32_t(o.context_length));
  return finish();
}

}  // namespace

const Architecture& GoldfinchArchitecture() {
  static const Architecture a{
      .name = "goldfinch",
      .family = "GoldFinch: Finch-C2 recurrent layers + GOLD attention over a TokenCat cache",
      .from_gguf = FromGguf,
      .recognises = LooksLikeGoldfinch,
      .from_checkpoint = FromCheckpoint,
      .write_gguf = WriteGguf,
      .presets = kPresets,
      .random_types = kRandomTypes,
      .make_random = MakeRandom,
  };
  return a;
}

}  // namespace floe
