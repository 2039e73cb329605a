#include "models/rwkv6/rwkv6_architecture.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <utility>
#include <vector>

#include "models/rwkv6/rwkv6_gguf.h"
#include "models/rwkv6/rwkv6_model.h"
#include "models/rwkv6/rwkv6_random.h"

namespace floe {

namespace {

constexpr ModelPreset kPresets[] = {
    {"tiny", "D 256, 6 layers, FFN 896, head 64, vocab 65536", 65536},
    {"0b1", "RWKV-6 World 0.1B: D 768, 12 layers, FFN 2688, vocab 65536", 65536},
    {"1b6", "RWKV-6 World 1B6: D 2048, 24 layers, FFN 7168, vocab 65536", 65536},
    {"3b", "RWKV-6 World 3B: D 2560, 32 layers, FFN 8960, vocab 65536", 65536},
};
constexpr DType kRandomTypes[] = {DType::kF32, DType::kF16, DType::kBF16};

Result<BoundNetwork> FromGguf(const MetadataView& metadata, const TensorSet& tensors) {
  FLOE_ASSIGN_OR_RETURN(Rwkv6Network net, Rwkv6FromGguf(metadata, tensors));
  return BindNetwork<Rwkv6Model>(std::move(net));
}

// `config`, when given, is rwkv.cpp's header (n_vocab, n_embed, n_layer): checked against the
// tensors.
Result<BoundNetwork> FromCheckpoint(const TensorSet& tensors, CheckpointLayout layout,
                                    const MetadataView* config) {
  FLOE_ASSIGN_OR_RETURN(Rwkv6Network net, BindRwkv6(tensors, layout == CheckpointLayout::kRwkvCpp
                                                                 ? Rwkv6Layout::kRwkvCpp
                                                                 : Rwkv6Layout::kOfficial));
  if (config != nullptr && config->Has("n_vocab")) {
    const Rwkv6Config& c = net.config;
    FLOE_ASSIGN_OR_RETURN(uint64_t n_vocab, config->GetUint("n_vocab"));
    FLOE_ASSIGN_OR_RETURN(uint64_t n_embed, config->GetUint("n_embed"));
    FLOE_ASSIGN_OR_RETURN(uint64_t n_layer, config->GetUint("n_layer"));
    if (c.vocab_size != n_vocab || c.n_embd != n_embed || c.n_layer != n_layer)
      return CorruptData(std::string(config->source()) + " (n_vocab " + std::to_string(n_vocab) +
                         ", n_embed " + std::to_string(n_embed) + ", n_layer " +
                         std::to_string(n_layer) + ") contradicts its tensors (" +
                         std::to_string(c.vocab_size) + ", " + std::to_string(c.n_embd) + ", " +
                         std::to_string(c.n_layer) + ")");
  }
  return BindNetwork<Rwkv6Model>(std::move(net));
}

Status WriteGguf(const CausalLm& model, const TensorSet&, ModelWriter& out) {
  const auto* lm = dynamic_cast<const Rwkv6Model*>(&model);
  if (lm == nullptr)
    return InvalidArgument("not an RWKV-6 model (architecture " + model.architecture() + ")");
  return WriteRwkv6Gguf(lm->config(), lm->network().weights, out);
}

Status MakeRandom(const RandomModelOptions& o, ModelWriter& out,
                  const std::function<Status()>& finish) {
  FLOE_ASSIGN_OR_RETURN(Rwkv6Config shape, Rwkv6PresetShape(o.preset));
  FLOE_ASSIGN_OR_RETURN(auto random, MakeRandomRwkv6(shape, o.seed, o.type));
  FLOE_ASSIGN_OR_RETURN(Rwkv6Network net, BindRwkv6(random->tensors, Rwkv6Layout::kOfficial));
  FLOE_ASSIGN_OR_RETURN(auto lm, Rwkv6Model::Create(std::move(net)));
  FLOE_RETURN_IF_ERROR(WriteGguf(*lm, random->tensors, out));
  if (o.context_length > 0) out.SetUint32("rwkv6.context_length", uint32_t(o.context_length));
  return finish();
}

}  // namespace

Result<Rwkv6Config> Rwkv6PresetShape(const std::string& name) {
  Rwkv6Config c;
  c.vocab_size = 65536;
  c.head_size = 64;
  c.lora_mix = 32;
  c.lora_decay = 64;
  if (name == "tiny")
    c.n_embd = 256, c.n_layer = 6, c.dim_ffn = 896, c.lora_decay = 32;
  else if (name == "0b1")
    c.n_embd = 768, c.n_layer = 12, c.dim_ffn = 2688;
  else if (name == "1b6")
    c.n_embd = 2048, c.n_layer = 24, c.dim_ffn = 7168;
  else if (name == "3b")
    c.n_embd = 2560, c.n_layer = 32, c.dim_ffn = 8960;
  else
    return InvalidArgument("unknown rwkv6 preset '" + name + "' (tiny, 0b1, 1b6, 3b)");
  return c;
}

const Architecture& Rwkv6Architecture() {
  static const Architecture a{
      .name = "rwkv6",
      .family = "RWKV-6 Finch: recurrent WKV with data-dependent decay, constant-memory prefill",
      .from_gguf = FromGguf,
      .recognises = LooksLikeRwkv6,
      .from_checkpoint = FromCheckpoint,
      .write_gguf = WriteGguf,
      .presets = kPresets,
      .random_types = kRandomTypes,
      .make_random = MakeRandom,
  };
  return a;
}

}  // namespace floe
