#include "models/mamba/mamba_gguf.h"

#include <string>
#include <utility>
#include <vector>

namespace floe {

namespace {

// Per-layer GGUF stem -> official name (after "backbone.layers.N.").
constexpr std::pair<const char*, const char*> kLayerNames[] = {
    {"attn_norm.weight", "norm.weight"},
    {"ssm_in.weight", "mixer.in_proj.weight"},
    {"ssm_conv1d.weight", "mixer.conv1d.weight"},
    {"ssm_conv1d.bias", "mixer.conv1d.bias"},
    {"ssm_x.weight", "mixer.x_proj.weight"},
    {"ssm_dt.weight", "mixer.dt_proj.weight"},
    {"ssm_dt.bias", "mixer.dt_proj.bias"},
    {"ssm_a", "mixer.A_log"},  // holds A = -exp(A_log): bound with MambaAForm::kNegExp
    {"ssm_d", "mixer.D"},
    {"ssm_out.weight", "mixer.out_proj.weight"},
};

constexpr std::pair<const char*, const char*> kTopNames[] = {
    {"token_embd.weight", "backbone.embedding.weight"},
    {"output_norm.weight", "backbone.norm_f.weight"},
    {"output.weight", "lm_head.weight"},
};

Result<size_t> Key(const MetadataView& f, const std::string& key) {
  auto v = f.GetUint(key);
  if (!v.ok()) return Status(v.status()).WithContext("mamba GGUF");
  if (*v == 0 || *v > (uint64_t(1) << 32))
    return CorruptData("mamba GGUF: " + key + " = " + std::to_string(*v) + " is implausible");
  return size_t(*v);
}

std::string LayerName(size_t l, const char* stem) {
  return "blk." + std::to_string(l) + "." + stem;
}

Status Vec(ModelWriter& out, const std::string& name, const float* v, std::vector<uint64_t> shape) {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return out.AddTensor(name, std::move(shape), DType::kF32, v, n * sizeof(float));
}

Status Mat(ModelWriter& out, const std::string& name, const TensorView& t) {
  return out.AddTensor(name, {t.rows, t.cols}, t.dtype, t.data, t.bytes());
}

// An error message of the binder with the official tensor names it quotes put back to the GGUF
// names the file uses.
std::string GgufNames(std::string msg) {
  auto replace = [&](const std::string& from, const std::string& to) {
    for (size_t at = msg.find(from); at != std::string::npos; at = msg.find(from, at + to.size()))
      msg.replace(at, from.size(), to);
  };
  // Quoted names built piecewise: GCC 12's -Wrestrict misfires on "'" + std::string(...).
  auto quoted = [](const char* name) {
    std::string q(1, '\'');
    q += name;
    q += '\'';
    return q;
  };
  for (const auto& [gguf_name, official] : kTopNames) replace(quoted(official), quoted(gguf_name));
  const std::string prefix = "'backbone.layers.";
  for (size_t at = msg.find(prefix); at != std::string::npos; at = msg.find(prefix, at + 1)) {
    const size_t dot = msg.find('.', at + prefix.size());
    const size_t end = dot == std::string::npos ? dot : msg.find('\'', dot);
    if (end == std::string::npos) break;
    const std::string layer = msg.substr(at + prefix.size(), dot - at - prefix.size());
    const std::string stem = msg.substr(dot + 1, end - dot - 1);
    for (const auto& [gguf_name, official] : kLayerNames)
      if (stem == official) {
        msg.replace(at, end + 1 - at, "'blk." + layer + "." + gguf_name + "'");
        break;
      }
  }
  return msg;
}

}  // namespace

Result<MambaNetwork> MambaFromGguf(const MetadataView& f, const TensorSet& gguf) {
  MambaConfig c;
  FLOE_ASSIGN_OR_RETURN(c.d_model, Key(f, "mamba.embedding_length"));
  FLOE_ASSIGN_OR_RETURN(c.n_layer, Key(f, "mamba.block_count"));
  FLOE_ASSIGN_OR_RETURN(c.d_conv, Key(f, "mamba.ssm.conv_kernel"));
  FLOE_ASSIGN_OR_RETURN(c.d_inner, Key(f, "mamba.ssm.inner_size"));
  FLOE_ASSIGN_OR_RETURN(c.d_state, Key(f, "mamba.ssm.state_size"));
  FLOE_ASSIGN_OR_RETURN(c.dt_rank, Key(f, "mamba.ssm.time_step_rank"));
  if (f.Has("mamba.attention.layer_norm_rms_epsilon")) {
    FLOE_ASSIGN_OR_RETURN(double eps, f.GetFloat("mamba.attention.layer_norm_rms_epsilon"));
    if (!(eps > 0.0 && eps < 1.0))
      return CorruptData("mamba GGUF: layer_norm_rms_epsilon " + std::to_string(eps) +
                         " is implausible");
    c.norm_eps = float(eps);
  }
  if (f.Has("mamba.ssm.dt_b_c_rms")) {
    FLOE_ASSIGN_OR_RETURN(bool rms, f.GetBool("mamba.ssm.dt_b_c_rms"));
    if (rms)
      return Unsupported(
          "mamba GGUF: mamba.ssm.dt_b_c_rms = true (FalconMamba's RMSNorm on dt, B, C) is not "
          "supported");
  }
  // Rename to the official names; the binder checks every shape against the keys.
  TensorSet set;
  for (const NamedTensor& info : gguf.tensors) {
    NamedTensor t = info;
    bool known = false;
    for (const auto& [gguf_name, official] : kTopNames)
      if (info.name == gguf_name) {
        t.name = official;
        known = true;
      }
    if (!known && info.name.rfind("blk.", 0) == 0) {
      const size_t dot = info.name.find('.', 4);
      if (dot == std::string::npos) continue;
      const std::string layer = info.name.substr(4, dot - 4), stem = info.name.substr(dot + 1);
      for (const auto& [gguf_name, official] : kLayerNames)
        if (stem == gguf_name) {
          t.name = "backbone.layers." + layer + "." + official;
          known = true;
        }
    }
    if (known) set.tensors.push_back(std::move(t));
  }
  for (const auto& [name, why] : gguf.unusable) {
    std::string official = name;
    for (const auto& [gguf_name, off] : kTopNames)
      if (name == gguf_name) official = off;
    set.unusable.emplace_back(official, why + " (GGUF tensor '" + name + "')");
  }
  set.Index();
  FLOE_ASSIGN_OR_RETURN(const NamedTensor* emb, gguf.Get("token_embd.weight", "the GGUF"));
  if (emb->shape.size() != 2 || emb->shape[0] == 0)
    return CorruptData("mamba GGUF: token_embd.weight must be 2-D [vocab, d_model]");
  c.vocab_size = size_t(emb->shape[0]);
  c.tie_embeddings = set.Find("lm_head.weight") == nullptr;
  FLOE_RETURN_IF_ERROR(c.Validate());
  // The views point into the file; the renamed set itself may go.
  auto net = BindMamba(c, set, MambaAForm::kNegExp, "the GGUF keys");
  if (!net.ok()) return Status(net.status().code(), GgufNames(net.status().message()));
  return net;
}

const MambaMixerNames kGgufMixerNames = {
    "ssm_in.weight", "ssm_conv1d.weight", "ssm_conv1d.bias", "ssm_x.weight",  "ssm_dt.weight",
    "ssm_dt.bias",   "ssm_a",             "ssm_d",           "ssm_out.weight"};

Status WriteMambaMixerGguf(const MambaConfig& c, const MambaLayerWeights& L,
                           const std::string& prefix, ModelWriter& out) {
  const uint64_t Di = c.d_inner, K = c.d_conv;
  const MambaMixerNames& n = kGgufMixerNames;
  FLOE_RETURN_IF_ERROR(Mat(out, prefix + n.in_proj, L.in_proj));
  // The kernel back to [Di][K] (the binder keeps it tap-major).
  float* conv = static_cast<float*>(out.Keep(Di * K * sizeof(float)));
  for (size_t d = 0; d < Di; ++d)
    for (size_t k = 0; k < K; ++k) conv[d * K + k] = L.conv_t[k * Di + d];
  FLOE_RETURN_IF_ERROR(Vec(out, prefix + n.conv_w, conv, {Di, K}));
  FLOE_RETURN_IF_ERROR(Vec(out, prefix + n.conv_b, L.conv_b, {Di}));
  FLOE_RETURN_IF_ERROR(Mat(out, prefix + n.x_proj, L.x_proj));
  FLOE_RETURN_IF_ERROR(Mat(out, prefix + n.dt_w, L.dt_proj));
  FLOE_RETURN_IF_ERROR(Vec(out, prefix + n.dt_b, L.dt_bias, {Di}));
  FLOE_RETURN_IF_ERROR(Vec(out, prefix + n.a, L.A, {Di, c.d_state}));
  FLOE_RETURN_IF_ERROR(Vec(out, prefix + n.d, L.D, {Di}));
  return Mat(out, prefix + n.out_proj, L.out_proj);
}

Status WriteMambaGguf(const MambaConfig& c, const MambaWeights& w, ModelWriter& out) {
  const uint64_t D = c.d_model, Di = c.d_inner, K = c.d_conv;
  out.SetUint32("mamba.context_length", 1048576);  // no trained limit; as llama.cpp's converter
  out.SetUint32("mamba.embedding_length", uint32_t(D));
  out.SetUint32("mamba.feed_forward_length", 0);
  out.SetUint32("mamba.attention.head_count", 0);
  out.SetUint32("mamba.block_count", uint32_t(c.n_layer));
  out.SetUint32("mamba.ssm.conv_kernel", uint32_t(K));
  out.SetUint32("mamba.ssm.inner_size", uint32_t(Di));
  out.SetUint32("mamba.ssm.state_size", uint32_t(c.d_state));
  out.SetUint32("mamba.ssm.time_step_rank", uint32_t(c.dt_rank));
  out.SetFloat32("mamba.attention.layer_norm_rms_epsilon", c.norm_eps);
  out.SetBool("mamba.ssm.dt_b_c_rms", false);
  FLOE_RETURN_IF_ERROR(Mat(out, "token_embd.weight", w.embed));
  FLOE_RETURN_IF_ERROR(Vec(out, "output_norm.weight", w.norm_f, {D}));
  if (!c.tie_embeddings) FLOE_RETURN_IF_ERROR(Mat(out, "output.weight", w.lm_head));
  for (size_t l = 0; l < c.n_layer; ++l) {
    const MambaLayerWeights& L = w.layers[l];
    FLOE_RETURN_IF_ERROR(Vec(out, LayerName(l, "attn_norm.weight"), L.norm, {D}));
    FLOE_RETURN_IF_ERROR(WriteMambaMixerGguf(c, L, "blk." + std::to_string(l) + ".", out));
  }
  return Status::Ok();
}

}  // namespace floe
