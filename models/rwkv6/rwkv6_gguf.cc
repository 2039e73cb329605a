#include "models/rwkv6/rwkv6_gguf.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace floe {

namespace {

// Per-layer GGUF tensor stem -> official name (after "blocks.N.").
const std::map<std::string, std::string>& LayerNames() {
  static const std::map<std::string, std::string> m = {
      {"attn_norm", "ln1"},
      {"attn_norm_2", "ln2"},
      {"time_mix_w1", "att.time_maa_w1"},
      {"time_mix_w2", "att.time_maa_w2"},
      {"time_mix_lerp_x", "att.time_maa_x"},
      {"time_mix_lerp_w", "att.time_maa_w"},
      {"time_mix_lerp_k", "att.time_maa_k"},
      {"time_mix_lerp_v", "att.time_maa_v"},
      {"time_mix_lerp_r", "att.time_maa_r"},
      {"time_mix_lerp_g", "att.time_maa_g"},
      {"time_mix_first", "att.time_faaaa"},
      {"time_mix_decay", "att.time_decay"},
      {"time_mix_decay_w1", "att.time_decay_w1"},
      {"time_mix_decay_w2", "att.time_decay_w2"},
      {"time_mix_key", "att.key"},
      {"time_mix_value", "att.value"},
      {"time_mix_receptance", "att.receptance"},
      {"time_mix_gate", "att.gate"},
      {"time_mix_output", "att.output"},
      {"time_mix_ln", "att.ln_x"},
      {"channel_mix_lerp_k", "ffn.time_maa_k"},
      {"channel_mix_lerp_r", "ffn.time_maa_r"},
      {"channel_mix_key", "ffn.key"},
      {"channel_mix_value", "ffn.value"},
      {"channel_mix_receptance", "ffn.receptance"},
  };
  return m;
}

// Top-level GGUF stem -> official name.
const std::map<std::string, std::string>& TopNames() {
  static const std::map<std::string, std::string> m = {
      {"token_embd", "emb"},
      {"token_embd_norm", "blocks.0.ln0"},
      {"output_norm", "ln_out"},
      {"output", "head"},
  };
  return m;
}

// The GGUF stem of an official name in `table` (the inverse of the reader's lookup).
std::string GgufStem(const std::map<std::string, std::string>& table, const std::string& official) {
  for (const auto& [gguf, name] : table)
    if (name == official) return gguf;
  return official;  // not in the table: a writer bug, caught by the GGUF round-trip tests
}

std::string TopTensor(const std::string& official, const char* suffix) {
  return GgufStem(TopNames(), official) + suffix;
}

// "blk.<l>.<stem><suffix>" for the official per-layer name (after "blocks.N.").
std::string LayerTensor(size_t l, const std::string& official, const char* suffix) {
  return "blk." + std::to_string(l) + "." + GgufStem(LayerNames(), official) + suffix;
}

// GGUF tensors the model may hold quantized: the embeddings, the head and the attention and
// feed-forward matrices.
bool IsQuantizedMatrix(const std::string& gguf_name) {
  if (gguf_name == "token_embd.weight" || gguf_name == "output.weight") return true;
  for (const char* m :
       {".time_mix_key.weight", ".time_mix_value.weight", ".time_mix_receptance.weight",
        ".time_mix_gate.weight", ".time_mix_output.weight", ".channel_mix_key.weight",
        ".channel_mix_value.weight", ".channel_mix_receptance.weight"})
    if (gguf_name.rfind("blk.", 0) == 0 && gguf_name.size() > std::strlen(m) &&
        gguf_name.compare(gguf_name.size() - std::strlen(m), std::string::npos, m) == 0)
      return true;
  return false;
}

// Official names of tensors the binder reads as vectors / LoRA (no ".weight" suffix).
bool IsParameter(const std::string& official) {
  return official.find(".time_") != std::string::npos;
}

Result<size_t> Key(const MetadataView& f, const std::string& key) {
  auto v = f.GetUint(key);
  if (!v.ok()) return Status(v.status()).WithContext("rwkv6 GGUF");
  if (*v == 0 || *v > (uint64_t(1) << 32))
    return CorruptData("rwkv6 GGUF: " + key + " = " + std::to_string(*v) + " is implausible");
  return size_t(*v);
}

Status Expect(const MetadataView& f, const std::string& key, size_t actual) {
  FLOE_ASSIGN_OR_RETURN(size_t v, Key(f, key));
  if (v != actual)
    return CorruptData("rwkv6 GGUF: " + key + " = " + std::to_string(v) +
                       " contradicts the tensors (" + std::to_string(actual) + ")");
  return Status::Ok();
}

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

}  // namespace

Result<Rwkv6Network> Rwkv6FromGguf(const MetadataView& f, const TensorSet& gguf) {
  if (!gguf.unusable.empty())
    return Unsupported("tensor '" + gguf.unusable[0].first + "' " + gguf.unusable[0].second);
  TensorSet set;
  for (const NamedTensor& info : gguf.tensors) {
    const bool is_float =
        info.dtype == DType::kF32 || info.dtype == DType::kF16 || info.dtype == DType::kBF16;
    // Quantized weights (llama-quantize's, floe quantize's): the matrices multiplied with
    // MatVec / MatMul and the embedding rows; every other tensor must be float.
    if (!is_float && !(IsQuantized(info.dtype) && IsQuantizedMatrix(info.name)))
      return Unsupported("tensor '" + info.name + "' has type " + DTypeName(info.dtype) +
                         "; floe reads rwkv6 GGUF tensors in f32, f16, bf16, and the weight "
                         "matrices also quantized");
    NamedTensor t = info;
    std::string name = info.name, suffix;
    for (const char* s : {".weight", ".bias"})
      if (name.size() > std::string(s).size() &&
          name.compare(name.size() - std::string(s).size(), std::string::npos, s) == 0) {
        suffix = s;
        name.resize(name.size() - suffix.size());
      }
    std::string official;
    if (auto top = TopNames().find(name); top != TopNames().end())
      official = top->second;
    else if (name.rfind("blk.", 0) == 0) {
      const size_t dot = name.find('.', 4);
      if (dot == std::string::npos) continue;
      const std::string layer = name.substr(4, dot - 4), stem = name.substr(dot + 1);
      const std::string prefix = "blocks." + layer + ".";
      if (stem == "time_mix_lerp_fused") {
        // {C,1,1,5}: the five lerp vectors w, k, v, r, g back to back.
        if (t.elements() % 5 != 0)
          return CorruptData("tensor '" + info.name + "' does not hold 5 vectors");
        const uint64_t C = t.elements() / 5;
        const char* parts[5] = {"w", "k", "v", "r", "g"};
        for (size_t i = 0; i < 5; ++i) {
          NamedTensor p = t;
          p.name = prefix + "att.time_maa_" + parts[i];
          p.shape = {C};
          p.bytes = t.bytes / 5;
          p.data = t.data + i * p.bytes;
          set.tensors.push_back(std::move(p));
        }
        continue;
      }
      auto it = LayerNames().find(stem);
      if (it == LayerNames().end()) continue;  // tensors floe does not use
      official = prefix + it->second;
    } else {
      continue;
    }
    t.name = IsParameter(official) ? official : official + (suffix.empty() ? ".weight" : suffix);
    set.tensors.push_back(std::move(t));
  }
  FLOE_ASSIGN_OR_RETURN(Rwkv6Network net, BindRwkv6(set, Rwkv6Layout::kRwkvCpp));
  Rwkv6Config& c = net.config;
  FLOE_RETURN_IF_ERROR(Expect(f, "rwkv6.embedding_length", c.n_embd));
  FLOE_RETURN_IF_ERROR(Expect(f, "rwkv6.block_count", c.n_layer));
  FLOE_RETURN_IF_ERROR(Expect(f, "rwkv6.wkv.head_size", c.head_size));
  FLOE_RETURN_IF_ERROR(Expect(f, "rwkv6.feed_forward_length", c.dim_ffn));
  FLOE_RETURN_IF_ERROR(Expect(f, "rwkv6.time_mix_extra_dim", c.lora_mix));
  FLOE_RETURN_IF_ERROR(Expect(f, "rwkv6.time_decay_extra_dim", c.lora_decay));
  if (f.Has("rwkv6.attention.layer_norm_epsilon")) {
    FLOE_ASSIGN_OR_RETURN(double eps, f.GetFloat("rwkv6.attention.layer_norm_epsilon"));
    if (!(eps > 0.0 && eps < 1.0))
      return CorruptData("rwkv6 GGUF: layer_norm_epsilon " + std::to_string(eps) +
                         " is implausible");
    c.ln_eps = float(eps);
  }
  if (f.Has("rwkv6.rescale_every_n_layers")) {
    FLOE_ASSIGN_OR_RETURN(uint64_t n, f.GetUint("rwkv6.rescale_every_n_layers"));
    c.rescale_every = size_t(std::min<uint64_t>(n, 1u << 20));
  }
  return net;
}

Status WriteRwkv6Gguf(const Rwkv6Config& c, const Rwkv6Weights& wt, ModelWriter& out) {
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
  FLOE_RETURN_IF_ERROR(w.Mat(TopTensor("emb", ".weight"), wt.emb));
  FLOE_RETURN_IF_ERROR(w.Vec(TopTensor("blocks.0.ln0", ".weight"), wt.ln0_w, {C}));
  FLOE_RETURN_IF_ERROR(w.Vec(TopTensor("blocks.0.ln0", ".bias"), wt.ln0_b, {C}));
  for (size_t l = 0; l < c.n_layer; ++l) {
    const Rwkv6LayerWeights& L = wt.layers[l];
    FLOE_RETURN_IF_ERROR(w.Vec(LayerTensor(l, "ln1", ".weight"), L.ln1_w, {C}));
    FLOE_RETURN_IF_ERROR(w.Vec(LayerTensor(l, "ln1", ".bias"), L.ln1_b, {C}));
    FLOE_RETURN_IF_ERROR(w.Vec(LayerTensor(l, "ln2", ".weight"), L.ln2_w, {C}));
    FLOE_RETURN_IF_ERROR(w.Vec(LayerTensor(l, "ln2", ".bias"), L.ln2_b, {C}));
    FLOE_RETURN_IF_ERROR(w.Mat(LayerTensor(l, "att.time_maa_w1", ".weight"), L.maa_w1));
    float* w2 = static_cast<float*>(out.Keep(5 * C * R * sizeof(float)));
    for (size_t i = 0; i < 5; ++i)
      std::copy(L.maa_w2[i].f32(), L.maa_w2[i].f32() + C * R, w2 + i * C * R);
    FLOE_RETURN_IF_ERROR(w.Vec(LayerTensor(l, "att.time_maa_w2", ".weight"), w2, {R, C, 5}));
    const std::pair<const char*, const float*> lerps[] = {{"x", L.maa_x}, {"w", L.maa_w},
                                                          {"k", L.maa_k}, {"v", L.maa_v},
                                                          {"r", L.maa_r}, {"g", L.maa_g}};
    for (const auto& [suffix, v] : lerps)
      FLOE_RETURN_IF_ERROR(
          w.Vec(LayerTensor(l, std::string("att.time_maa_") + suffix, ".weight"), v, {C, 1, 1}));
    FLOE_RETURN_IF_ERROR(
        w.Vec(LayerTensor(l, "att.time_faaaa", ".weight"), L.bonus, {c.head_size, c.n_head}));
    FLOE_RETURN_IF_ERROR(w.Vec(LayerTensor(l, "att.time_decay", ".weight"), L.decay, {C}));
    FLOE_RETURN_IF_ERROR(w.Mat(LayerTensor(l, "att.time_decay_w1", ".weight"), L.decay_w1));
    FLOE_RETURN_IF_ERROR(w.Mat(LayerTensor(l, "att.time_decay_w2", ".weight"), L.decay_w2));
    FLOE_RETURN_IF_ERROR(w.Mat(LayerTensor(l, "att.key", ".weight"), L.key));
    FLOE_RETURN_IF_ERROR(w.Mat(LayerTensor(l, "att.value", ".weight"), L.value));
    FLOE_RETURN_IF_ERROR(w.Mat(LayerTensor(l, "att.receptance", ".weight"), L.receptance));
    FLOE_RETURN_IF_ERROR(w.Mat(LayerTensor(l, "att.gate", ".weight"), L.gate));
    FLOE_RETURN_IF_ERROR(w.Vec(LayerTensor(l, "att.ln_x", ".weight"), L.ln_x_w, {C}));
    FLOE_RETURN_IF_ERROR(w.Vec(LayerTensor(l, "att.ln_x", ".bias"), L.ln_x_b, {C}));
    FLOE_RETURN_IF_ERROR(w.Mat(LayerTensor(l, "att.output", ".weight"), L.output));
    FLOE_RETURN_IF_ERROR(
        w.Vec(LayerTensor(l, "ffn.time_maa_k", ".weight"), L.ffn_maa_k, {C, 1, 1}));
    FLOE_RETURN_IF_ERROR(
        w.Vec(LayerTensor(l, "ffn.time_maa_r", ".weight"), L.ffn_maa_r, {C, 1, 1}));
    FLOE_RETURN_IF_ERROR(w.Mat(LayerTensor(l, "ffn.key", ".weight"), L.ffn_key));
    FLOE_RETURN_IF_ERROR(w.Mat(LayerTensor(l, "ffn.value", ".weight"), L.ffn_value));
    FLOE_RETURN_IF_ERROR(w.Mat(LayerTensor(l, "ffn.receptance", ".weight"), L.ffn_receptance));
  }
  FLOE_RETURN_IF_ERROR(w.Vec(TopTensor("ln_out", ".weight"), wt.ln_out_w, {C}));
  FLOE_RETURN_IF_ERROR(w.Vec(TopTensor("ln_out", ".bias"), wt.ln_out_b, {C}));
  FLOE_RETURN_IF_ERROR(w.Mat(TopTensor("head", ".weight"), wt.head));
  return Status::Ok();
}

}  // namespace floe
