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

// llama.cpp's "rwkv6" GGUF layout (rwkv6_gguf.h lists the names); shapes in PyTorch order.
class GgufOut {
 public:
  explicit GgufOut(ModelWriter& out) : out_(out) {}
  Status Vec(const std::string& name, const float* v, std::vector<uint64_t> ne) {
    uint64_t n = 1;
    for (uint64_t d : ne) n *= d;
    std::reverse(ne.begin(), ne.end());
    return out_.AddTensor(name, std::move(ne), DType::kF32, v, n * sizeof(float));
  }
  Status Mat(const std::string& name, const TensorView& t) {
    return out_.AddTensor(name, {t.rows, t.cols}, t.dtype, t.data, t.bytes());
  }

 private:
  ModelWriter& out_;
};

Status WriteGguf(const CausalLm& model, const TensorSet&, ModelWriter& out) {
  const auto* lm = dynamic_cast<const Rwkv6Model*>(&model);
  if (lm == nullptr)
    return InvalidArgument("not an RWKV-6 model (architecture " + model.architecture() + ")");
  const Rwkv6Config& c = lm->config();
  const Rwkv6Weights& wt = lm->network().weights;
  const uint64_t C = c.n_embd, R = c.lora_mix, Rd = c.lora_decay;
  out.SetUint32("rwkv6.context_length", 1048576);  // RWKV has no trained context limit
  out.SetUint32("rwkv6.embedding_length", uint32_t(C));
  out.SetUint32("rwkv6.block_count", uint32_t(c.n_layer));
  out.SetFloat32("rwkv6.attention.layer_norm_epsilon", c.ln_eps);
  out.SetUint32("rwkv6.rescale_every_n_layers", uint32_t(c.rescale_every));
  out.SetUint32("rwkv6.wkv.head_size", uint32_t(c.head_size));
  out.SetUint32("rwkv6.time_mix_extra_dim", uint32_t(R));
  out.SetUint32("rwkv6.time_decay_extra_dim", uint32_t(Rd));
  out.SetUint32("rwkv6.feed_forward_length", uint32_t(c.dim_ffn));
  out.SetUint32("rwkv6.attention.head_count", 0);  // required by llama.cpp, unused
  GgufOut w(out);
  FLOE_RETURN_IF_ERROR(w.Mat("token_embd.weight", wt.emb));
  FLOE_RETURN_IF_ERROR(w.Vec("token_embd_norm.weight", wt.ln0_w, {C}));
  FLOE_RETURN_IF_ERROR(w.Vec("token_embd_norm.bias", wt.ln0_b, {C}));
  for (size_t l = 0; l < c.n_layer; ++l) {
    const Rwkv6LayerWeights& L = wt.layers[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    FLOE_RETURN_IF_ERROR(w.Vec(p + "attn_norm.weight", L.ln1_w, {C}));
    FLOE_RETURN_IF_ERROR(w.Vec(p + "attn_norm.bias", L.ln1_b, {C}));
    FLOE_RETURN_IF_ERROR(w.Vec(p + "attn_norm_2.weight", L.ln2_w, {C}));
    FLOE_RETURN_IF_ERROR(w.Vec(p + "attn_norm_2.bias", L.ln2_b, {C}));
    FLOE_RETURN_IF_ERROR(w.Mat(p + "time_mix_w1.weight", L.maa_w1));
    float* w2 = static_cast<float*>(out.Keep(5 * C * R * sizeof(float)));
    for (size_t i = 0; i < 5; ++i)
      std::copy(L.maa_w2[i].f32(), L.maa_w2[i].f32() + C * R, w2 + i * C * R);
    FLOE_RETURN_IF_ERROR(w.Vec(p + "time_mix_w2.weight", w2, {R, C, 5}));
    const std::pair<const char*, const float*> lerps[] = {{"x", L.maa_x}, {"w", L.maa_w},
                                                          {"k", L.maa_k}, {"v", L.maa_v},
                                                          {"r", L.maa_r}, {"g", L.maa_g}};
    for (const auto& [suffix, v] : lerps)
      FLOE_RETURN_IF_ERROR(w.Vec(p + "time_mix_lerp_" + suffix + ".weight", v, {C, 1, 1}));
    FLOE_RETURN_IF_ERROR(w.Vec(p + "time_mix_first.weight", L.bonus, {c.head_size, c.n_head}));
    FLOE_RETURN_IF_ERROR(w.Vec(p + "time_mix_decay.weight", L.decay, {C}));
    FLOE_RETURN_IF_ERROR(w.Mat(p + "time_mix_decay_w1.weight", L.decay_w1));
    FLOE_RETURN_IF_ERROR(w.Mat(p + "time_mix_decay_w2.weight", L.decay_w2));
    FLOE_RETURN_IF_ERROR(w.Mat(p + "time_mix_key.weight", L.key));
    FLOE_RETURN_IF_ERROR(w.Mat(p + "time_mix_value.weight", L.value));
    FLOE_RETURN_IF_ERROR(w.Mat(p + "time_mix_receptance.weight", L.receptance));
    FLOE_RETURN_IF_ERROR(w.Mat(p + "time_mix_gate.weight", L.gate));
    FLOE_RETURN_IF_ERROR(w.Vec(p + "time_mix_ln.weight", L.ln_x_w, {C}));
    FLOE_RETURN_IF_ERROR(w.Vec(p + "time_mix_ln.bias", L.ln_x_b, {C}));
    FLOE_RETURN_IF_ERROR(w.Mat(p + "time_mix_output.weight", L.output));
    FLOE_RETURN_IF_ERROR(w.Vec(p + "channel_mix_lerp_k.weight", L.ffn_maa_k, {C, 1, 1}));
    FLOE_RETURN_IF_ERROR(w.Vec(p + "channel_mix_lerp_r.weight", L.ffn_maa_r, {C, 1, 1}));
    FLOE_RETURN_IF_ERROR(w.Mat(p + "channel_mix_key.weight", L.ffn_key));
    FLOE_RETURN_IF_ERROR(w.Mat(p + "channel_mix_value.weight", L.ffn_value));
    FLOE_RETURN_IF_ERROR(w.Mat(p + "channel_mix_receptance.weight", L.ffn_receptance));
  }
  FLOE_RETURN_IF_ERROR(w.Vec("output_norm.weight", wt.ln_out_w, {C}));
  FLOE_RETURN_IF_ERROR(w.Vec("output_norm.bias", wt.ln_out_b, {C}));
  FLOE_RETURN_IF_ERROR(w.Mat("output.weight", wt.head));
  return Status::Ok();
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
