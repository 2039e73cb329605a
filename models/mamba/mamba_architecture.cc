#include "models/mamba/mamba_architecture.h"

#include <utility>

#include "models/mamba/mamba_gguf.h"
#include "models/mamba/mamba_model.h"
#include "models/mamba/mamba_random.h"

namespace floe {

namespace {

constexpr ModelPreset kPresets[] = {
    {"tiny", "d_model 128, 4 layers, d_state 16, vocab 512", 512},
    {"130m", "mamba-130m: d_model 768, 24 layers, vocab 50280 padded to 50288", 50288},
    {"370m", "mamba-370m: d_model 1024, 48 layers, vocab 50280 padded to 50288", 50288},
    {"790m", "mamba-790m: d_model 1536, 48 layers, vocab 50280 padded to 50288", 50288},
    {"1.4b", "mamba-1.4b: d_model 2048, 48 layers, vocab 50280 padded to 50288", 50288},
    {"2.8b", "mamba-2.8b: d_model 2560, 64 layers, vocab 50280 padded to 50288", 50288},
};
constexpr DType kRandomTypes[] = {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0,
                                  DType::kQ4_0};

Result<BoundNetwork> FromGguf(const MetadataView& metadata, const TensorSet& tensors) {
  FLOE_ASSIGN_OR_RETURN(MambaNetwork net, MambaFromGguf(metadata, tensors));
  return BindNetwork<MambaModel>(std::move(net));
}

Result<BoundNetwork> FromCheckpoint(const TensorSet& tensors, CheckpointLayout,
                                    const MetadataView* config) {
  if (config == nullptr)
    return InvalidArgument(
        "Mamba checkpoint needs its config.json in the same directory (MambaConfig: d_model, "
        "n_layer, vocab_size, ssm_cfg, ...); none was found");
  FLOE_ASSIGN_OR_RETURN(MambaConfig c, MambaConfigFromHfConfig(*config));
  FLOE_ASSIGN_OR_RETURN(MambaNetwork net, BindMamba(c, tensors, MambaAForm::kALog));
  return BindNetwork<MambaModel>(std::move(net));
}

Status WriteGguf(const CausalLm& model, const TensorSet&, ModelWriter& out) {
  const auto* lm = dynamic_cast<const MambaModel*>(&model);
  if (lm == nullptr)
    return InvalidArgument("not a Mamba model (architecture " + model.architecture() + ")");
  return WriteMambaGguf(lm->config(), lm->weights(), out);
}

Status MakeRandom(const RandomModelOptions& o, ModelWriter& out,
                  const std::function<Status()>& finish) {
  FLOE_ASSIGN_OR_RETURN(MambaConfig shape, MambaPresetShape(o.preset));
  FLOE_ASSIGN_OR_RETURN(auto random, MakeRandomMamba(shape, o.seed, o.type));
  FLOE_ASSIGN_OR_RETURN(MambaNetwork net,
                        BindMamba(random->config, random->tensors, MambaAForm::kALog));
  FLOE_ASSIGN_OR_RETURN(auto lm, MambaModel::Create(std::move(net)));
  FLOE_RETURN_IF_ERROR(WriteGguf(*lm, random->tensors, out));
  if (o.context_length > 0) out.SetUint32("mamba.context_length", uint32_t(o.context_length));
  return finish();
}

}  // namespace

Result<MambaConfig> MambaPresetShape(const std::string& name) {
  MambaConfig c;
  c.vocab_size = 50288;  // 50280 (GPT-NeoX) padded to a multiple of 8
  c.d_state = 16;
  c.d_conv = 4;
  c.tie_embeddings = true;
  if (name == "tiny")
    c.d_model = 128, c.n_layer = 4, c.vocab_size = 512;
  else if (name == "130m")
    c.d_model = 768, c.n_layer = 24;
  else if (name == "370m")
    c.d_model = 1024, c.n_layer = 48;
  else if (name == "790m")
    c.d_model = 1536, c.n_layer = 48;
  else if (name == "1.4b")
    c.d_model = 2048, c.n_layer = 48;
  else if (name == "2.8b")
    c.d_model = 2560, c.n_layer = 64;
  else
    return InvalidArgument("unknown mamba preset '" + name +
                           "' (tiny, 130m, 370m, 790m, 1.4b, 2.8b)");
  c.d_inner = 2 * c.d_model;          // expand 2
  c.dt_rank = (c.d_model + 15) / 16;  // "auto"
  return c;
}

const Architecture& MambaArchitecture() {
  static const Architecture a{
      .name = "mamba",
      .family = "Mamba-1: selective state space model, constant-memory prefill",
      .from_gguf = FromGguf,
      .recognises = LooksLikeMamba,
      .from_checkpoint = FromCheckpoint,
      .write_gguf = WriteGguf,
      .presets = kPresets,
      .random_types = kRandomTypes,
      .make_random = MakeRandom,
  };
  return a;
}

}  // namespace floe
