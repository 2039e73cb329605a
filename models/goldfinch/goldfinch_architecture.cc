#include "models/goldfinch/goldfinch_architecture.h"

#include <utility>

#include "models/goldfinch/goldfinch_model.h"

namespace floe {

namespace {

Result<BoundNetwork> FromGguf(const MetadataView&, const TensorSet&) {
  return Unsupported("goldfinch GGUF files are not supported yet");
}

// `config` is the official config.json beside the checkpoint, checked against the tensors.
Result<BoundNetwork> FromCheckpoint(const TensorSet& tensors, CheckpointLayout layout,
                                    const MetadataView* config) {
  if (layout != CheckpointLayout::kOfficial)
    return Unsupported("goldfinch checkpoints come only in the official layout");
  FLOE_ASSIGN_OR_RETURN(GoldfinchNetwork net, BindGoldfinch(tensors, config));
  return BindNetwork<GoldfinchModel>(std::move(net));
}

}  // namespace

const Architecture& GoldfinchArchitecture() {
  static const Architecture a{
      .name = "goldfinch",
      .family = "GoldFinch: Finch-C2 recurrent layers + GOLD attention over a TokenCat cache",
      .from_gguf = FromGguf,
      .recognises = LooksLikeGoldfinch,
      .from_checkpoint = FromCheckpoint,
      .write_gguf = nullptr,
      .presets = {},
      .random_types = {},
      .make_random = nullptr,
  };
  return a;
}

}  // namespace floe
