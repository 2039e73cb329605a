#include "models/goldfinch/goldfinch_gguf.h"

#include <map>
#include <string>
#include <utility>

namespace floe {

namespace {

// Per-layer official name (after "blocks.N.") -> GGUF stem (after "blk.N.").
const std::map<std::string, std::string>& LayerNames() {
  static const std::map<std::string, std::string> m = {
      {"ln1.weight", "attn_norm.weight"},
      {"ln1.bias", "attn_norm.bias"},
      {"ln2.weight", "attn_norm_2.weight"},
      {"ln2.bias", "attn_norm_2.bias"},
      {"att.time_maa_x", "time_mix_lerp_x.weight"},
      {"att.time_maa_r", "time_mix_lerp_r.weight"},
      {"att.time_maa_k", "time_mix_lerp_k.weight"},
      {"att.time_maa_v", "time_mix_lerp_v.weight"},
      {"att.time_maa_w", "time_mix_lerp_w.weight"},
      {"att.time_maa_v2", "time_mix_lerp_v2.weight"},
      {"att.time_maa_w1", "time_mix_w1.weight"},
      {"att.time_maa_w2", "time_mix_w2.weight"},
      {"att.time_decay", "time_mix_decay.weight"},
      {"att.time_decay_w1", "time_mix_decay_w1.weight"},
      {"att.time_decay_w2", "time_mix_decay_w2.weight"},
      {"att.time_value2_w1", "time_mix_value2_w1.weight"},
      {"att.time_value2_w2", "time_mix_value2_w2.weight"},
      {"att.time_faaaa", "time_mix_first.weight"},
      {"att.receptance.weight", "time_mix_receptance.weight"},
      {"att.key.weight", "time_mix_key.weight"},
      {"att.value.weight", "time_mix_value.weight"},
      {"att.output.weight", "time_mix_output.weight"},
      {"att.ln_x.weight", "time_mix_ln.weight"},
      {"att.ln_x.bias", "time_mix_ln.bias"},
      {"att.time_maa_q", "gold_lerp_q.weight"},
      {"att.time_maa_v_cache", "gold_lerp_v_cache.weight"},
      {"att.time_maa_q_w1", "gold_q_w1.weight"},
      {"att.time_maa_q_w2", "gold_q_w2.weight"},
      {"att.time_maa_kv_w1", "gold_kv_w1.weight"},
      {"att.time_maa_kv_w2", "gold_kv_w2.weight"},
      {"att.time_key_w1", "gold_key_w1.weight"},
      {"att.time_key_w2", "gold_key_w2.weight"},
      {"att.time_value_w1", "gold_value_w1.weight"},
      {"att.time_value_w2", "gold_value_w2.weight"},
      {"att.query.weight", "gold_query.weight"},
      {"att.ln_q.weight", "gold_ln_q.weight"},
      {"att.ln_q.bias", "gold_ln_q.bias"},
      {"att.ln_k.weight", "gold_ln_k.weight"},
      {"att.ln_k.bias", "gold_ln_k.bias"},
      {"att.ln_v.weight", "gold_ln_v.weight"},
      {"att.ln_v.bias", "gold_ln_v.bias"},
      {"ffn.time_maa_k", "channel_mix_lerp_k.weight"},
      {"ffn.time_maa_r", "channel_mix_lerp_r.weight"},
      {"ffn.key.weight", "channel_mix_key.weight"},
      {"ffn.value.weight", "channel_mix_value.weight"},
      {"ffn.receptance.weight", "channel_mix_receptance.weight"},
  };
  return m;
}

const std::map<std::string, std::string>& TopNames() {
  static const std::map<std::string, std::string> m = {
      {"emb.weight", "token_embd.weight"},
      {"blocks.0.ln0.weight", "token_embd_norm.weight"},
      {"blocks.0.ln0.bias", "token_embd_norm.bias"},
      {"ln_out.weight", "output_norm.weight"},
      {"ln_out.bias", "output_norm.bias"},
      {"head.weight", "output.weight"},
      {"w_kv_cache_a.weight", "kv_cache_a.weight"},
      {"w_kv_cache_b.weight", "kv_cache_b.weight"},
  };
  return m;
}

// Splits "<prefix><digits>.<rest>"; false when `name` does not have that form.
bool SplitLayer(const std::string& name, const std::string& prefix, std::string* layer,
                std::string* rest) {
  if (name.rfind(prefix, 0) != 0) return false;
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos || dot == prefix.size() || dot - prefix.size() > 4) return false;
  for (size_t i = prefix.size(); i < dot; ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  *layer = name.substr(prefix.size(), dot - prefix.size());
  *rest = name.substr(dot + 1);
  return true;
}

// The official name of a GGUF tensor name; "" when the name is not in the layout.
std::string OfficialName(const std::string& gguf) {
  for (const auto& [official, g] : TopNames())
    if (g == gguf) return official;
  std::string layer, rest;
  if (!SplitLayer(gguf, "blk.", &layer, &rest)) return "";
  for (const auto& [official, g] : LayerNames())
    if (g == rest) return "blocks." + layer + "." + official;
  return "";
}

// The GGUF name of an official name; "" when the name is not in the layout.
std::string GgufName(const std::string& official) {
  if (auto it = TopNames().find(official); it != TopNames().end()) return it->second;
  std::string layer, rest;
  if (!SplitLayer(official, "blocks.", &layer, &rest)) return "";
  if (auto it = LayerNames().find(rest); it != LayerNames().end())
    return "blk." + layer + "." + it->second;
  return "";
}

Status Expect(const MetadataView& f, const std::string& key, size_t actual) {
  auto v = f.GetUint(key);
  if (!v.ok()) return Status(v.status()).WithContext("goldfinch GGUF");
  if (*v != actual)
    return CorruptData("goldfinch GGUF: " + key + " = " + std::to_string(*v) +
                       " contradicts the tensors (" + std::to_string(actual) + ")");
  return Status::Ok();
}

}  // namespace

Result<GoldfinchNetwork> GoldfinchFromGguf(const MetadataView& f, const TensorSet& gguf) {
  if (!gguf.unusable.empty())
    return Unsupported("tensor '" + gguf.unusable[0].first + "' " + gguf.unusable[0].second);
  TensorSet set;
  for (const NamedTensor& info : gguf.tensors) {
    if (info.dtype != DType::kF32 && info.dtype != DType::kF16 && info.dtype != DType::kBF16)
      return Unsupported("tensor '" + info.name + "' has type " + DTypeName(info.dtype) +
                         "; floe reads goldfinch GGUF tensors in f32, f16, bf16");
    const std::string official = OfficialName(info.name);
    if (official.empty()) continue;  // tensors floe does not use
    NamedTensor t = info;
    t.name = official;
    set.tensors.push_back(std::move(t));
  }
  set.Index();
  FLOE_ASSIGN_OR_RETURN(GoldfinchNetwork net, BindGoldfinch(set, nullptr));
  GoldfinchConfig& c = net.config;
  const std::string k = "goldfinch.";
  FLOE_RETURN_IF_ERROR(Expect(f, k + "embedding_length", c.n_embd));
  FLOE_RETURN_IF_ERROR(Expect(f, k + "block_count", c.n_layer));
  FLOE_RETURN_IF_ERROR(Expect(f, k + "feed_forward_length", c.dim_ffn));
  FLOE_RETURN_IF_ERROR(Expect(f, k + "wkv.head_size", c.head_size));
  FLOE_RETURN_IF_ERROR(Expect(f, k + "first_gold_layer", c.first_gold_layer));
  FLOE_RETURN_IF_ERROR(Expect(f, k + "kv_cache_a_dim", c.kv_a_dim));
  FLOE_RETURN_IF_ERROR(Expect(f, k + "time_mix_extra_dim", c.lora_mix));
  FLOE_RETURN_IF_ERROR(Expect(f, k + "time_decay_extra_dim", c.lora_decay));
  FLOE_RETURN_IF_ERROR(Expect(f, k + "time_value2_extra_dim", c.lora_value2));
  FLOE_RETURN_IF_ERROR(Expect(f, k + "gold.time_mix_extra_dim", c.gold_lora_mix));
  FLOE_RETURN_IF_ERROR(Expect(f, k + "gold.value_extra_dim", c.gold_lora_value));
  FLOE_ASSIGN_OR_RETURN(c.use_one_minus_w, f.GetBool(k + "use_one_minus_w"));
  FLOE_ASSIGN_OR_RETURN(c.use_v2, f.GetBool(k + "use_v2"));
  if (f.Has(k + "attention.layer_norm_epsilon")) {
    FLOE_ASSIGN_OR_RETURN(double eps, f.GetFloat(k + "attention.layer_norm_epsilon"));
    if (!(eps > 0.0 && eps < 1.0))
      return CorruptData("goldfinch GGUF: attention.layer_norm_epsilon " + std::to_string(eps) +
                         " is implausible");
    c.ln_eps = float(eps);
  }
  return net;
}

Status WriteGoldfinchGguf(const GoldfinchConfig& c, const TensorSet& source, ModelWriter& out) {
  const std::string k = "goldfinch.";
  out.SetUint32(k + "context_length", 1048576);  // no trained limit on the recurrent part
  out.SetUint32(k + "embedding_length", uint32_t(c.n_embd));
  out.SetUint32(k + "block_count", uint32_t(c.n_layer));
  out.SetUint32(k + "feed_forward_length", uint32_t(c.dim_ffn));
  out.SetUint32(k + "wkv.head_size", uint32_t(c.head_size));
  out.SetUint32(k + "first_gold_layer", uint32_t(c.first_gold_layer));
  out.SetUint32(k + "kv_cache_a_dim", uint32_t(c.kv_a_dim));
  out.SetUint32(k + "time_mix_extra_dim", uint32_t(c.lora_mix));
  out.SetUint32(k + "time_decay_extra_dim", uint32_t(c.lora_decay));
  out.SetUint32(k + "time_value2_extra_dim", uint32_t(c.lora_value2));
  out.SetUint32(k + "gold.time_mix_extra_dim", uint32_t(c.gold_lora_mix));
  out.SetUint32(k + "gold.value_extra_dim", uint32_t(c.gold_lora_value));
  out.SetBool(k + "use_one_minus_w", c.use_one_minus_w);
  out.SetBool(k + "use_v2", c.use_v2);
  out.SetFloat32(k + "attention.layer_norm_epsilon", c.ln_eps);
  for (const NamedTensor& t : source.tensors) {
    std::string name = GgufName(t.name);
    if (name.empty() && !OfficialName(t.name).empty()) name = t.name;  // already GGUF
    if (name.empty()) continue;                                        // not part of the network
    FLOE_RETURN_IF_ERROR(out.AddTensor(name, t.shape, t.dtype, t.data, t.bytes));
  }
  return Status::Ok();
}

}  // namespace floe
