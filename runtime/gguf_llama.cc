#include "runtime/gguf_llama.h"

namespace floe {

namespace {

Result<size_t> RequiredCount(const GgufFile& f, const std::string& key) {
  auto v = f.GetUint(key);
  if (!v.ok()) return Status(v.status()).WithContext("llama GGUF");
  if (v.value() == 0 || v.value() > (uint64_t(1) << 32))
    return CorruptData("llama GGUF: " + key + " = " + std::to_string(v.value()) + " is implausible");
  return size_t(v.value());
}

size_t OptionalCount(const GgufFile& f, const std::string& key, size_t fallback) {
  auto v = f.GetUint(key);
  return v.ok() ? size_t(v.value()) : fallback;
}

}  // namespace

Result<LlamaConfig> LlamaConfigFromGguf(const GgufFile& f) {
  auto arch = f.GetString("general.architecture");
  if (!arch.ok()) return Status(arch.status()).WithContext("GGUF model");
  if (arch.value() != "llama" && arch.value() != "qwen2")
    return Unsupported("GGUF architecture '" + arch.value() + "' is not supported (supported: llama, qwen2)");
  LlamaConfig c;
  c.arch = arch.value();
  const std::string k = c.arch + ".";
  FLOE_ASSIGN_OR_RETURN(c.dim, RequiredCount(f, k + "embedding_length"));
  FLOE_ASSIGN_OR_RETURN(c.n_layers, RequiredCount(f, k + "block_count"));
  FLOE_ASSIGN_OR_RETURN(c.n_heads, RequiredCount(f, k + "attention.head_count"));
  FLOE_ASSIGN_OR_RETURN(c.ffn_dim, RequiredCount(f, k + "feed_forward_length"));
  FLOE_ASSIGN_OR_RETURN(c.context_length, RequiredCount(f, k + "context_length"));
  c.n_kv_heads = OptionalCount(f, k + "attention.head_count_kv", c.n_heads);
  c.head_dim = OptionalCount(f, k + "attention.key_length", c.dim / c.n_heads);
  c.rope_dim = OptionalCount(f, k + "rope.dimension_count", c.head_dim);
  if (auto base = f.GetFloat(k + "rope.freq_base"); base.ok()) c.rope_freq_base = float(base.value());
  if (auto eps = f.GetFloat(k + "attention.layer_norm_rms_epsilon"); eps.ok()) c.rms_eps = float(eps.value());
  if (f.Find(k + "rope.scaling.type")) {
    FLOE_ASSIGN_OR_RETURN(std::string scaling, f.GetString(k + "rope.scaling.type"));
    double factor = 1.0;
    if (auto fa = f.GetFloat(k + "rope.scaling.factor"); fa.ok()) factor = fa.value();
    if (scaling != "none" && factor != 1.0)
      return Unsupported(k + "rope.scaling.type '" + scaling + "' (factor " + std::to_string(factor) +
                         ") is not supported yet; floe runs unscaled RoPE only");
  }
  // llama.cpp: LLAMA_ROPE_TYPE_NORM (adjacent pairs) for "llama", NEOX (half split) for "qwen2".
  c.rope_style = c.arch == "qwen2" ? RopeStyle::kHalfSplit : RopeStyle::kInterleaved;
  c.qkv_bias = c.arch == "qwen2";
  const GgufTensorInfo* embd = f.FindTensor(llama_names::kTokenEmbd);
  if (embd == nullptr) return NotFound(std::string("tensor ") + llama_names::kTokenEmbd + " is missing");
  if (embd->ne.size() != 2) return CorruptData("token_embd.weight must be 2-D");
  c.vocab_size = size_t(embd->ne[1]);
  Status st = c.Validate();
  if (!st.ok()) return CorruptData(st.message());
  return c;
}

Result<LlamaWeights> LlamaWeightsFromGguf(const GgufFile& f, const LlamaConfig& c) {
  LlamaWeights w;
  auto get = [&](const std::string& name, TensorView* out) -> Status {
    auto t = f.GetTensorView(name);
    if (!t.ok()) return t.status();
    *out = t.value();
    return Status::Ok();
  };
  FLOE_RETURN_IF_ERROR(get(llama_names::kTokenEmbd, &w.token_embd));
  FLOE_RETURN_IF_ERROR(get(llama_names::kOutputNorm, &w.output_norm));
  if (f.FindTensor(llama_names::kOutput)) FLOE_RETURN_IF_ERROR(get(llama_names::kOutput, &w.output));
  else w.output = w.token_embd;
  w.layers.resize(c.n_layers);
  using llama_names::Layer;
  for (size_t l = 0; l < c.n_layers; ++l) {
    LlamaLayerWeights& L = w.layers[l];
    FLOE_RETURN_IF_ERROR(get(Layer(l, "attn_norm"), &L.attn_norm));
    FLOE_RETURN_IF_ERROR(get(Layer(l, "attn_q"), &L.wq));
    FLOE_RETURN_IF_ERROR(get(Layer(l, "attn_k"), &L.wk));
    FLOE_RETURN_IF_ERROR(get(Layer(l, "attn_v"), &L.wv));
    FLOE_RETURN_IF_ERROR(get(Layer(l, "attn_output"), &L.wo));
    if (c.qkv_bias) {
      FLOE_RETURN_IF_ERROR(get(llama_names::LayerBias(l, "attn_q"), &L.bq));
      FLOE_RETURN_IF_ERROR(get(llama_names::LayerBias(l, "attn_k"), &L.bk));
      FLOE_RETURN_IF_ERROR(get(llama_names::LayerBias(l, "attn_v"), &L.bv));
    }
    FLOE_RETURN_IF_ERROR(get(Layer(l, "ffn_norm"), &L.ffn_norm));
    FLOE_RETURN_IF_ERROR(get(Layer(l, "ffn_gate"), &L.ffn_gate));
    FLOE_RETURN_IF_ERROR(get(Layer(l, "ffn_up"), &L.ffn_up));
    FLOE_RETURN_IF_ERROR(get(Layer(l, "ffn_down"), &L.ffn_down));
  }
  return w;
}

}  // namespace floe
