#include "models/llama/llama_gguf.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace floe {

namespace {

Result<size_t> RequiredCount(const MetadataView& f, const std::string& key) {
  auto v = f.GetUint(key);
  if (!v.ok()) return Status(v.status()).WithContext("llama GGUF");
  if (v.value() == 0 || v.value() > (uint64_t(1) << 32))
    return CorruptData("llama GGUF: " + key + " = " + std::to_string(v.value()) +
                       " is implausible");
  return size_t(v.value());
}

size_t OptionalCount(const MetadataView& f, const std::string& key, size_t fallback) {
  auto v = f.GetUint(key);
  return v.ok() ? size_t(v.value()) : fallback;
}

// A float key that must be a positive finite number when present.
Status PositiveFloat(const MetadataView& f, const std::string& key, float* out) {
  if (!f.Has(key)) return Status::Ok();
  auto v = f.GetFloat(key);
  if (!v.ok()) return Status(v.status()).WithContext("llama GGUF");
  if (!(v.value() > 0.0) || !std::isfinite(v.value()) || v.value() > 1e30)
    return CorruptData("llama GGUF: " + key + " = " + std::to_string(v.value()) +
                       " must be a positive finite number");
  *out = float(v.value());
  return Status::Ok();
}

// llama.cpp's RoPE scaling keys (llama-model.cpp load_hparams, llama-arch.cpp names) and the
// rope_freqs tensor (llama-model.cpp: {n_rot/2}, f32, used by architecture llama).
Status ReadRopeScaling(const MetadataView& f, const TensorSet& tensors, const std::string& arch,
                       LlamaRopeScaling* r) {
  const std::string k = arch + ".rope.";
  if (f.Has(k + "scaling.type")) {
    FLOE_ASSIGN_OR_RETURN(std::string type, f.GetString(k + "scaling.type"));
    if (type == "none")
      r->type = RopeScalingType::kNone;
    else if (type == "linear")
      r->type = RopeScalingType::kLinear;
    else if (type == "yarn")
      r->type = RopeScalingType::kYarn;
    else if (type == "longrope")
      return Unsupported(k + "scaling.type 'longrope' (Phi-3's per-context frequency factors) "
                         "is not supported; floe runs none, linear and yarn");
    else
      return CorruptData(k + "scaling.type '" + type +
                         "' is not a RoPE scaling type (none, linear, yarn, longrope)");
  }
  // The factor's key, or the older rope.scale_linear, as llama.cpp reads them.
  const std::string factor_key =
      f.Has(k + "scaling.factor") ? k + "scaling.factor" : k + "scale_linear";
  FLOE_RETURN_IF_ERROR(PositiveFloat(f, factor_key, &r->factor));
  FLOE_RETURN_IF_ERROR(PositiveFloat(f, k + "scaling.attn_factor", &r->attn_factor));
  if (f.Has(k + "scaling.original_context_length")) {
    auto v = f.GetUint(k + "scaling.original_context_length");
    if (!v.ok()) return Status(v.status()).WithContext("llama GGUF");
    if (v.value() > (uint64_t(1) << 26))
      return CorruptData("llama GGUF: " + k + "scaling.original_context_length = " +
                         std::to_string(v.value()) + " is implausible");
    r->original_context = size_t(v.value());  // 0: llama.cpp uses the trained context
  }
  {
    auto t = tensors.Get(llama_names::kRopeFreqs);  // kUnsupported for a type floe cannot read
    if (!t.ok()) return t.status().code() == StatusCode::kNotFound ? Status::Ok() : t.status();
    const NamedTensor& n = *t.value();
    if (n.dtype != DType::kF32)
      return Unsupported(std::string(llama_names::kRopeFreqs) + " must be f32, the file has " +
                         DTypeName(n.dtype));
    if (n.shape.size() != 1 || n.bytes != n.elements() * sizeof(float))
      return CorruptData(std::string(llama_names::kRopeFreqs) + " must be a vector, the file has " +
                         ShapeText(n.shape));
    r->freq_factors.resize(size_t(n.elements()));
    if (n.bytes) std::memcpy(r->freq_factors.data(), n.data, n.bytes);
  }
  return Status::Ok();
}

}  // namespace

Result<LlamaConfig> LlamaConfigFromGguf(const MetadataView& f, const TensorSet& tensors) {
  auto arch = f.GetString("general.architecture");
  if (!arch.ok()) return Status(arch.status()).WithContext("GGUF model");
  if (arch.value() != "llama" && arch.value() != "qwen2")
    return Unsupported("GGUF architecture '" + arch.value() +
                       "' is not supported (supported: llama, qwen2)");
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
  if (auto base = f.GetFloat(k + "rope.freq_base"); base.ok())
    c.rope_freq_base = float(base.value());
  if (auto eps = f.GetFloat(k + "attention.layer_norm_rms_epsilon"); eps.ok())
    c.rms_eps = float(eps.value());
  FLOE_RETURN_IF_ERROR(ReadRopeScaling(f, tensors, c.arch, &c.rope_file));
  // llama.cpp: LLAMA_ROPE_TYPE_NORM (adjacent pairs) for "llama", NEOX (half split) for "qwen2".
  c.rope_style = c.arch == "qwen2" ? RopeStyle::kHalfSplit : RopeStyle::kInterleaved;
  c.qkv_bias = c.arch == "qwen2";
  // Get: an unreadable type is reported as such, not as a missing tensor.
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* embd, tensors.Get(llama_names::kTokenEmbd));
  if (embd->shape.size() != 2) return CorruptData("token_embd.weight must be 2-D");
  c.vocab_size = size_t(embd->shape[0]);
  Status st = c.Validate();
  if (!st.ok()) return CorruptData(st.message());
  return c;
}

Result<LlamaWeights> LlamaWeightsFromGguf(const TensorSet& f, const LlamaConfig& c) {
  LlamaWeights w;
  auto get = [&](const std::string& name, TensorView* out) -> Status {
    auto t = f.View(name);
    if (!t.ok()) return t.status();
    *out = t.value();
    return Status::Ok();
  };
  FLOE_RETURN_IF_ERROR(get(llama_names::kTokenEmbd, &w.token_embd));
  FLOE_RETURN_IF_ERROR(get(llama_names::kOutputNorm, &w.output_norm));
  if (f.Find(llama_names::kOutput))
    FLOE_RETURN_IF_ERROR(get(llama_names::kOutput, &w.output));
  else
    w.output = w.token_embd;
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

Status WriteLlamaGguf(const LlamaConfig& c, const LlamaWeights& w, ModelWriter& out) {
  const std::string k = c.arch + ".";
  out.SetUint32(k + "context_length", uint32_t(c.context_length));
  out.SetUint32(k + "embedding_length", uint32_t(c.dim));
  out.SetUint32(k + "block_count", uint32_t(c.n_layers));
  out.SetUint32(k + "feed_forward_length", uint32_t(c.ffn_dim));
  out.SetUint32(k + "rope.dimension_count", uint32_t(c.rope_dim));
  out.SetUint32(k + "attention.head_count", uint32_t(c.n_heads));
  out.SetUint32(k + "attention.head_count_kv", uint32_t(c.n_kv_heads));
  if (c.head_dim != c.dim / c.n_heads)
    out.SetUint32(k + "attention.key_length", uint32_t(c.head_dim));
  out.SetFloat32(k + "attention.layer_norm_rms_epsilon", c.rms_eps);
  out.SetFloat32(k + "rope.freq_base", c.rope_freq_base);
  out.SetUint32(k + "vocab_size", uint32_t(c.vocab_size));
  const LlamaRopeScaling& r = c.rope_file;
  if (r.type != RopeScalingType::kLinear || r.factor != 0.0f)
    out.SetString(k + "rope.scaling.type", RopeScalingTypeName(r.type));
  if (r.factor != 0.0f) out.SetFloat32(k + "rope.scaling.factor", r.factor);
  if (r.attn_factor != 1.0f) out.SetFloat32(k + "rope.scaling.attn_factor", r.attn_factor);
  if (r.original_context != 0)
    out.SetUint32(k + "rope.scaling.original_context_length", uint32_t(r.original_context));
  auto put = [&](const std::string& name, const TensorView& t) {
    std::vector<uint64_t> shape =
        t.rows == 1 ? std::vector<uint64_t>{t.cols} : std::vector<uint64_t>{t.rows, t.cols};
    return out.AddTensor(name, std::move(shape), t.dtype, t.data, t.bytes());
  };
  using llama_names::Layer;
  using llama_names::LayerBias;
  if (!r.freq_factors.empty())
    FLOE_RETURN_IF_ERROR(out.AddTensor(llama_names::kRopeFreqs, {r.freq_factors.size()},
                                       DType::kF32, r.freq_factors.data(),
                                       r.freq_factors.size() * sizeof(float)));
  FLOE_RETURN_IF_ERROR(put(llama_names::kTokenEmbd, w.token_embd));
  for (size_t l = 0; l < c.n_layers; ++l) {
    const LlamaLayerWeights& L = w.layers[l];
    FLOE_RETURN_IF_ERROR(put(Layer(l, "attn_norm"), L.attn_norm));
    FLOE_RETURN_IF_ERROR(put(Layer(l, "attn_q"), L.wq));
    FLOE_RETURN_IF_ERROR(put(Layer(l, "attn_k"), L.wk));
    FLOE_RETURN_IF_ERROR(put(Layer(l, "attn_v"), L.wv));
    FLOE_RETURN_IF_ERROR(put(Layer(l, "attn_output"), L.wo));
    if (c.qkv_bias) {
      FLOE_RETURN_IF_ERROR(put(LayerBias(l, "attn_q"), L.bq));
      FLOE_RETURN_IF_ERROR(put(LayerBias(l, "attn_k"), L.bk));
      FLOE_RETURN_IF_ERROR(put(LayerBias(l, "attn_v"), L.bv));
    }
    FLOE_RETURN_IF_ERROR(put(Layer(l, "ffn_norm"), L.ffn_norm));
    FLOE_RETURN_IF_ERROR(put(Layer(l, "ffn_gate"), L.ffn_gate));
    FLOE_RETURN_IF_ERROR(put(Layer(l, "ffn_up"), L.ffn_up));
    FLOE_RETURN_IF_ERROR(put(Layer(l, "ffn_down"), L.ffn_down));
  }
  FLOE_RETURN_IF_ERROR(put(llama_names::kOutputNorm, w.output_norm));
  if (w.output.data != w.token_embd.data) FLOE_RETURN_IF_ERROR(put(llama_names::kOutput, w.output));
  return Status::Ok();
}

}  // namespace floe
