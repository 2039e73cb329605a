#include "models/transnormer/transnormer_architecture.h"

#include <utility>

#include "models/transnormer/transnormer_gguf.h"
#include "models/transnormer/transnormer_model.h"
#include "models/transnormer/transnormer_random.h"

namespace floe {

namespace {

constexpr ModelPreset kPresets[] = {
    {"tiny", "D 256, 4 layers, 4 heads, GLU 704, vocab 64000", 64000},
    {"small", "D 512, 8 layers, 8 heads, GLU 1408, vocab 64000", 64000},
    {"385m", "TransNormerLLM-385M: D 1024, 24 layers, 8 heads, GLU 2816, vocab 64000", 64000},
    {"1b", "TransNormerLLM-1B: D 2048, 16 layers, 16 heads, GLU 5632, vocab 64000", 64000},
};
constexpr DType kRandomTypes[] = {DType::kF32, DType::kF16, DType::kBF16};

Result<BoundNetwork> FromGguf(const MetadataView& metadata, const TensorSet& tensors) {
  FLOE_ASSIGN_OR_RETURN(TransnormerNetwork net, TransnormerFromGguf(metadata, tensors));
  return BindNetwork<TransnormerModel>(std::move(net));
}

Result<BoundNetwork> FromCheckpoint(const TensorSet& tensors, CheckpointLayout,
                                    const MetadataView* config) {
  if (config == nullptr)
    return InvalidArgument(
        "TransNormerLLM checkpoint needs its Hugging Face config.json in the same "
        "directory (the tensors do not carry the hyperparameters); none was found");
  FLOE_ASSIGN_OR_RETURN(TransnormerConfig c, TransnormerConfigFromHfConfig(*config));
  FLOE_ASSIGN_OR_RETURN(TransnormerNetwork net, BindTransnormer(c, tensors));
  return BindNetwork<TransnormerModel>(std::move(net));
}

// The official checkpoint's tensors are written unchanged; `source` holds them.
Status WriteGguf(const CausalLm& model, const TensorSet& source, ModelWriter& out) {
  const auto* lm = dynamic_cast<const TransnormerModel*>(&model);
  if (lm == nullptr)
    return InvalidArgument("not a TransNormerLLM model (architecture " + model.architecture() +
                           ")");
  return WriteTransnormerGguf(lm->config(), source, out);
}

Status MakeRandom(const RandomModelOptions& o, ModelWriter& out,
                  const std::function<Status()>& finish) {
  FLOE_ASSIGN_OR_RETURN(TransnormerConfig shape, TransnormerPresetShape(o.preset));
  FLOE_ASSIGN_OR_RETURN(auto random, MakeRandomTransnormer(shape, o.seed, o.type));
  FLOE_RETURN_IF_ERROR(BindTransnormer(random->config, random->tensors).status());
  FLOE_RETURN_IF_ERROR(WriteTransnormerGguf(random->config, random->tensors, out));
  return finish();
}

}  // namespace

Result<TransnormerConfig> TransnormerPresetShape(const std::string& name) {
  TransnormerConfig c;
  c.vocab_size = 64000;
  c.tie_word_embeddings = false;
  if (name == "1b")
    c.embed_dim = 2048, c.n_layers = 16, c.n_heads = 16, c.glu_dim = 5632;
  else if (name == "385m")
    c.embed_dim = 1024, c.n_layers = 24, c.n_heads = 8, c.glu_dim = 2816;
  else if (name == "small")
    c.embed_dim = 512, c.n_layers = 8, c.n_heads = 8, c.glu_dim = 1408;
  else if (name == "tiny")
    c.embed_dim = 256, c.n_layers = 4, c.n_heads = 4, c.glu_dim = 704;
  else
    return InvalidArgument("unknown transnormer preset '" + name + "' (tiny, small, 385m, 1b)");
  c.hidden_dim = c.embed_dim;
  c.lrpe.assign(c.n_layers, false);
  c.lrpe[0] = true;  // LRPE on the first layer, as the published configs
  return c;
}

const Architecture& TransnormerArchitecture() {
  static const Architecture a{
      .name = "transnormer",
      .family = "TransNormerLLM: linear attention with decay, LRPE, SRMSNorm, SGLU",
      .from_gguf = FromGguf,
      .recognises = LooksLikeTransnormer,
      .from_checkpoint = FromCheckpoint,
      .write_gguf = WriteGguf,
      .presets = kPresets,
      .random_types = kRandomTypes,
      .make_random = MakeRandom,
  };
  return a;
}

}  // namespace floe
