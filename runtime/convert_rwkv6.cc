#include "runtime/convert_rwkv6.h"

#include <memory>
#include <vector>

#include "models/rwkv6/rwkv6_model.h"
#include "runtime/gguf_writer.h"
#include "runtime/rwkv_world_tokenizer.h"

namespace floe {

namespace {

class Writer {
 public:
  explicit Writer(GgufWriter* w) : w_(w) {}
  Status Vec(const std::string& name, const float* v, std::vector<uint64_t> ne) {
    uint64_t n = 1;
    for (uint64_t d : ne) n *= d;
    return w_->AddTensor(name, std::move(ne), 0, v, n * sizeof(float));
  }
  // A [rows x cols] view as ne {cols, rows}.
  Status Mat(const std::string& name, const TensorView& t) {
    return w_->AddTensor(name, {t.cols, t.rows}, uint32_t(t.dtype), t.data, t.bytes());
  }
  // Buffers that must live until WriteFile.
  float* Keep(size_t n) {
    kept_.emplace_back(new float[n]);
    return kept_.back().get();
  }

 private:
  GgufWriter* w_;
  std::vector<std::unique_ptr<float[]>> kept_;
};

}  // namespace

Status ConvertRwkv6ToGguf(const Model& model, const std::string& name, const std::string& output_path) {
  const auto* lm = dynamic_cast<const Rwkv6Model*>(&model.lm());
  if (lm == nullptr) return InvalidArgument("not an RWKV-6 model (architecture " + model.architecture() + ")");
  const Rwkv6Config& c = lm->config();
  const Rwkv6Weights& wt = lm->network().weights;
  const uint64_t C = c.n_embd, R = c.lora_mix, Rd = c.lora_decay;

  GgufWriter g;
  g.SetString("general.architecture", "rwkv6");
  g.SetString("general.name", name);
  g.SetUint32("general.alignment", 32);
  g.SetUint32("rwkv6.context_length", 1048576);  // RWKV has no trained context limit
  g.SetUint32("rwkv6.embedding_length", uint32_t(C));
  g.SetUint32("rwkv6.block_count", uint32_t(c.n_layer));
  g.SetFloat32("rwkv6.attention.layer_norm_epsilon", c.ln_eps);
  g.SetUint32("rwkv6.rescale_every_n_layers", uint32_t(c.rescale_every));
  g.SetUint32("rwkv6.wkv.head_size", uint32_t(c.head_size));
  g.SetUint32("rwkv6.time_mix_extra_dim", uint32_t(R));
  g.SetUint32("rwkv6.time_decay_extra_dim", uint32_t(Rd));
  g.SetUint32("rwkv6.feed_forward_length", uint32_t(c.dim_ffn));
  g.SetUint32("rwkv6.attention.head_count", 0);  // required by llama.cpp, unused
  if (const Tokenizer* tok = model.tokenizer()) {
    std::vector<std::string> tokens;
    tokens.reserve(tok->vocab_size());
    for (size_t i = 0; i < tok->vocab_size(); ++i) tokens.push_back(EscapeRwkvToken(tok->TokenBytes(int32_t(i))));
    g.SetString("tokenizer.ggml.model", "rwkv");
    g.SetStringArray("tokenizer.ggml.tokens", std::move(tokens));
    g.SetInt32Array("tokenizer.ggml.token_type", std::vector<int32_t>(tok->vocab_size(), 1));
  }

  Writer w(&g);
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
    float* w2 = w.Keep(5 * C * R);
    for (size_t i = 0; i < 5; ++i) std::copy(L.maa_w2[i].f32(), L.maa_w2[i].f32() + C * R, w2 + i * C * R);
    FLOE_RETURN_IF_ERROR(w.Vec(p + "time_mix_w2.weight", w2, {R, C, 5}));
    const std::pair<const char*, const float*> lerps[] = {{"x", L.maa_x}, {"w", L.maa_w}, {"k", L.maa_k},
                                                          {"v", L.maa_v}, {"r", L.maa_r}, {"g", L.maa_g}};
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
  return g.WriteFile(output_path);
}

}  // namespace floe
