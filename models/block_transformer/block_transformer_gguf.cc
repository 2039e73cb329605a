#include "models/block_transformer/block_transformer_gguf.h"

#include <utility>
#include <vector>

namespace floe {

namespace {

const char* const kK = "block-transformer.";

// Per-layer official stem (after "layers.N.") -> GGUF stem (after "blk.N.").
constexpr std::pair<const char*, const char*> kLayerStems[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"input_layernorm.bias", "attn_norm.bias"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"post_attention_layernorm.bias", "ffn_norm.bias"},
    {"attention.query_key_value.weight", "attn_qkv.weight"},
    {"attention.query_key_value.bias", "attn_qkv.bias"},
    {"attention.dense.weight", "attn_output.weight"},
    {"attention.dense.bias", "attn_output.bias"},
    {"mlp.dense_h_to_4h.weight", "ffn_up.weight"},
    {"mlp.dense_h_to_4h.bias", "ffn_up.bias"},
    {"mlp.dense_4h_to_h.weight", "ffn_down.weight"},
    {"mlp.dense_4h_to_h.bias", "ffn_down.bias"},
};

constexpr std::pair<const char*, const char*> kTopNames[] = {
    {"embedder.embeddings.weight", "lookup_embd.weight"},
    {"block_decoder.gpt_neox.final_layer_norm.weight", "bd.output_norm.weight"},
    {"block_decoder.gpt_neox.final_layer_norm.bias", "bd.output_norm.bias"},
    {"token_decoder.gpt_neox.final_layer_norm.weight", "td.output_norm.weight"},
    {"token_decoder.gpt_neox.final_layer_norm.bias", "td.output_norm.bias"},
    {"token_decoder.gpt_neox.embed_in.weight", "td.token_embd.weight"},
    {"token_decoder.embed_out.weight", "td.output.weight"},
    {"token_decoder.expansion_layer.weight", "td.expand.weight"},
    {"token_decoder.expansion_layer.bias", "td.expand.bias"},
};

constexpr std::pair<const char*, const char*> kStacks[] = {
    {"block_decoder.gpt_neox.layers.", "bd.blk."},
    {"token_decoder.gpt_neox.layers.", "td.blk."},
};

// GGUF name -> official name ("" when unknown).
std::string OfficialName(const std::string& g) {
  for (const auto& [official, gguf] : kTopNames)
    if (g == gguf) return official;
  for (const auto& [official_prefix, gguf_prefix] : kStacks) {
    const std::string gp = gguf_prefix;
    if (g.rfind(gp, 0) != 0) continue;
    const size_t dot = g.find('.', gp.size());
    if (dot == std::string::npos) return "";
    const std::string layer = g.substr(gp.size(), dot - gp.size()), stem = g.substr(dot + 1);
    for (const auto& [o, gs] : kLayerStems)
      if (stem == gs) return official_prefix + layer + "." + o;
  }
  return "";
}

// Rewrites quoted official tensor names in a binder message to their GGUF names.
std::string GgufNames(std::string msg) {
  for (size_t at = msg.find('\''); at != std::string::npos;) {
    const size_t end = msg.find('\'', at + 1);
    if (end == std::string::npos) break;
    const std::string g = BlockTransformerGgufName(msg.substr(at + 1, end - at - 1));
    if (!g.empty()) {
      msg.replace(at + 1, end - at - 1, g);
      at = at + 1 + g.size();
    } else {
      at = end;
    }
    at = msg.find('\'', at + 1);
  }
  return msg;
}

Result<size_t> Key(const MetadataView& f, const std::string& key) {
  auto v = f.GetUint(key);
  if (!v.ok()) return Status(v.status()).WithContext("block-transformer GGUF");
  if (*v == 0 || *v > (uint64_t(1) << 32))
    return CorruptData("block-transformer GGUF: " + key + " = " + std::to_string(*v) +
                       " is implausible");
  return size_t(*v);
}

Result<float> FloatKey(const MetadataView& f, const std::string& key) {
  auto v = f.GetFloat(key);
  if (!v.ok()) return Status(v.status()).WithContext("block-transformer GGUF");
  if (!(*v > 0.0 && *v < 1e12))
    return CorruptData("block-transformer GGUF: " + key + " is implausible");
  return float(*v);
}

Result<NeoxConfig> NeoxFromKeys(const MetadataView& f, const std::string& p) {
  NeoxConfig c;
  FLOE_ASSIGN_OR_RETURN(c.hidden, Key(f, p + "embedding_length"));
  FLOE_ASSIGN_OR_RETURN(c.layers, Key(f, p + "block_count"));
  FLOE_ASSIGN_OR_RETURN(c.heads, Key(f, p + "attention.head_count"));
  FLOE_ASSIGN_OR_RETURN(c.ffn, Key(f, p + "feed_forward_length"));
  auto rot = f.GetUint(p + "rope.dimension_count");
  if (!rot.ok()) return Status(rot.status()).WithContext("block-transformer GGUF");
  if (*rot > 65536) return CorruptData("block-transformer GGUF: rope.dimension_count implausible");
  c.rot_dim = size_t(*rot);
  FLOE_ASSIGN_OR_RETURN(c.rope_base, FloatKey(f, p + "rope.freq_base"));
  FLOE_ASSIGN_OR_RETURN(c.ln_eps, FloatKey(f, p + "attention.layer_norm_epsilon"));
  return c;
}

void WriteNeoxKeys(const NeoxConfig& c, const std::string& p, ModelWriter& out) {
  out.SetUint32(p + "embedding_length", uint32_t(c.hidden));
  out.SetUint32(p + "block_count", uint32_t(c.layers));
  out.SetUint32(p + "attention.head_count", uint32_t(c.heads));
  out.SetUint32(p + "feed_forward_length", uint32_t(c.ffn));
  out.SetUint32(p + "rope.dimension_count", uint32_t(c.rot_dim));
  out.SetFloat32(p + "rope.freq_base", c.rope_base);
  out.SetFloat32(p + "attention.layer_norm_epsilon", c.ln_eps);
}

Status Vec(ModelWriter& out, const std::string& name, const float* v, uint64_t n) {
  return out.AddTensor(name, {n}, DType::kF32, v, n * sizeof(float));
}

Status Mat(ModelWriter& out, const std::string& name, const TensorView& t) {
  return out.AddTensor(name, {t.rows, t.cols}, t.dtype, t.data, t.bytes());
}

Status WriteNeox(const NeoxConfig& c, const NeoxWeights& w, const std::string& s,
                 ModelWriter& out) {
  const uint64_t D = c.hidden, F = c.ffn;
  for (size_t l = 0; l < c.layers; ++l) {
    const NeoxLayerWeights& L = w.layers[l];
    const std::string p = s + ".blk." + std::to_string(l) + ".";
    FLOE_RETURN_IF_ERROR(Vec(out, p + "attn_norm.weight", L.ln1_w, D));
    FLOE_RETURN_IF_ERROR(Vec(out, p + "attn_norm.bias", L.ln1_b, D));
    FLOE_RETURN_IF_ERROR(Vec(out, p + "ffn_norm.weight", L.ln2_w, D));
    FLOE_RETURN_IF_ERROR(Vec(out, p + "ffn_norm.bias", L.ln2_b, D));
    FLOE_RETURN_IF_ERROR(Mat(out, p + "attn_qkv.weight", L.qkv));
    FLOE_RETURN_IF_ERROR(Vec(out, p + "attn_qkv.bias", L.qkv_b, 3 * D));
    FLOE_RETURN_IF_ERROR(Mat(out, p + "attn_output.weight", L.out));
    FLOE_RETURN_IF_ERROR(Vec(out, p + "attn_output.bias", L.out_b, D));
    FLOE_RETURN_IF_ERROR(Mat(out, p + "ffn_up.weight", L.up));
    FLOE_RETURN_IF_ERROR(Vec(out, p + "ffn_up.bias", L.up_b, F));
    FLOE_RETURN_IF_ERROR(Mat(out, p + "ffn_down.weight", L.down));
    FLOE_RETURN_IF_ERROR(Vec(out, p + "ffn_down.bias", L.down_b, D));
  }
  FLOE_RETURN_IF_ERROR(Vec(out, s + ".output_norm.weight", w.final_w, D));
  return Vec(out, s + ".output_norm.bias", w.final_b, D);
}

}  // namespace

std::string BlockTransformerGgufName(const std::string& o) {
  for (const auto& [official, gguf] : kTopNames)
    if (o == official) return gguf;
  for (const auto& [official_prefix, gguf_prefix] : kStacks) {
    const std::string op = official_prefix;
    if (o.rfind(op, 0) != 0) continue;
    const size_t dot = o.find('.', op.size());
    if (dot == std::string::npos) return "";
    const std::string layer = o.substr(op.size(), dot - op.size()), stem = o.substr(dot + 1);
    for (const auto& [os, gs] : kLayerStems)
      if (stem == os) return gguf_prefix + layer + "." + gs;
  }
  return "";
}

Result<BlockTransformerNetwork> BlockTransformerFromGguf(const MetadataView& f,
                                                         const TensorSet& gguf) {
  const std::string k = kK;
  BlockTransformerConfig c;
  FLOE_ASSIGN_OR_RETURN(c.context_length, Key(f, k + "context_length"));
  FLOE_ASSIGN_OR_RETURN(c.block_length, Key(f, k + "block_length"));
  FLOE_ASSIGN_OR_RETURN(c.embedder_dim, Key(f, k + "embedder_length"));
  FLOE_ASSIGN_OR_RETURN(c.expansion_ratio, Key(f, k + "expansion_ratio"));
  FLOE_ASSIGN_OR_RETURN(c.block, NeoxFromKeys(f, k + "block_decoder."));
  FLOE_ASSIGN_OR_RETURN(c.token, NeoxFromKeys(f, k + "token_decoder."));
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* emb, gguf.Get("lookup_embd.weight", "the GGUF"));
  if (emb->shape.size() != 2 || emb->shape[0] == 0)
    return CorruptData("block-transformer GGUF: lookup_embd.weight must be 2-D [vocab, d_e]");
  c.vocab_size = size_t(emb->shape[0]);
  FLOE_RETURN_IF_ERROR(c.Validate());
  // Rename to the official names; the binder checks every shape against the keys.
  TensorSet set;
  for (const NamedTensor& info : gguf.tensors) {
    const std::string official = OfficialName(info.name);
    if (official.empty()) continue;
    NamedTensor t = info;
    t.name = official;
    set.tensors.push_back(std::move(t));
  }
  for (const auto& [name, why] : gguf.unusable) {
    const std::string official = OfficialName(name);
    set.unusable.emplace_back(official.empty() ? name : official,
                              why + " (GGUF tensor '" + name + "')");
  }
  set.Index();
  auto net = BindBlockTransformer(c, set, "the GGUF keys");
  if (!net.ok()) return Status(net.status().code(), GgufNames(net.status().message()));
  return net;
}

Status WriteBlockTransformerGguf(const BlockTransformerConfig& c, const BlockTransformerWeights& w,
                                 ModelWriter& out) {
  const std::string k = kK;
  out.SetUint32(k + "context_length", uint32_t(c.context_length));
  out.SetUint32(k + "block_length", uint32_t(c.block_length));
  out.SetUint32(k + "embedder_length", uint32_t(c.embedder_dim));
  out.SetUint32(k + "expansion_ratio", uint32_t(c.expansion_ratio));
  WriteNeoxKeys(c.block, k + "block_decoder.", out);
  WriteNeoxKeys(c.token, k + "token_decoder.", out);
  FLOE_RETURN_IF_ERROR(Mat(out, "lookup_embd.weight", w.lookup));
  FLOE_RETURN_IF_ERROR(WriteNeox(c.block, w.block, "bd", out));
  FLOE_RETURN_IF_ERROR(WriteNeox(c.token, w.token, "td", out));
  FLOE_RETURN_IF_ERROR(Mat(out, "td.token_embd.weight", w.token_embed));
  FLOE_RETURN_IF_ERROR(Mat(out, "td.output.weight", w.head));
  FLOE_RETURN_IF_ERROR(Mat(out, "td.expand.weight", w.expand));
  return Vec(out, "td.expand.bias", w.expand_b, w.expand.rows);
}

}  // namespace floe
