#include "models/transnormer/transnormer_gguf.h"

#include <string>
#include <vector>

namespace floe {

namespace {

constexpr const char* kArch = "transnormer";

Result<size_t> Count(const MetadataView& f, const std::string& key) {
  auto v = f.GetUint(key);
  if (!v.ok()) return Status(v.status()).WithContext("transnormer GGUF");
  if (*v == 0 || *v > (uint64_t(1) << 32))
    return CorruptData("transnormer GGUF: " + key + " = " + std::to_string(*v) + " is implausible");
  return size_t(*v);
}

}  // namespace

Result<TransnormerNetwork> TransnormerFromGguf(const MetadataView& f, const TensorSet& gguf) {
  TransnormerConfig c;
  const std::string k = std::string(kArch) + ".";
  FLOE_ASSIGN_OR_RETURN(c.vocab_size, Count(f, k + "vocab_size"));
  FLOE_ASSIGN_OR_RETURN(c.embed_dim, Count(f, k + "embedding_length"));
  FLOE_ASSIGN_OR_RETURN(c.hidden_dim, Count(f, k + "hidden_dim"));
  FLOE_ASSIGN_OR_RETURN(c.n_heads, Count(f, k + "attention.head_count"));
  FLOE_ASSIGN_OR_RETURN(c.n_layers, Count(f, k + "block_count"));
  FLOE_ASSIGN_OR_RETURN(c.glu_dim, Count(f, k + "glu_dim"));
  FLOE_ASSIGN_OR_RETURN(std::vector<int32_t> lrpe, f.GetInt32Array(k + "lrpe_layers"));
  for (int32_t v : lrpe) {
    if (v != 0 && v != 1)
      return CorruptData("transnormer GGUF: " + k + "lrpe_layers holds " + std::to_string(v) +
                         " (0 or 1 expected)");
    c.lrpe.push_back(v == 1);
  }
  FLOE_ASSIGN_OR_RETURN(std::string act, f.GetString(k + "linear_act_fun"));
  FLOE_ASSIGN_OR_RETURN(c.act, ParseTransnormerActivation(act));
  FLOE_ASSIGN_OR_RETURN(c.scale_embedding, f.GetBool(k + "scale_embedding"));
  FLOE_ASSIGN_OR_RETURN(c.tie_word_embeddings, f.GetBool(k + "tie_word_embeddings"));
  if (f.Has(k + "norm_eps")) {
    FLOE_ASSIGN_OR_RETURN(double eps, f.GetFloat(k + "norm_eps"));
    if (!(eps > 0.0 && eps < 1.0))
      return CorruptData("transnormer GGUF: norm_eps " + std::to_string(eps) + " is implausible");
    c.norm_eps = float(eps);
  }
  FLOE_RETURN_IF_ERROR(c.Validate());
  if (!gguf.unusable.empty())
    return Unsupported(
        "tensor '" + gguf.unusable[0].first +
        "': transnormer GGUF tensors must be f32, f16, bf16 or a quantized type floe reads");
  // Quantized tensors are accepted where the binder allows them (the matrices); it names any
  // other.
  return BindTransnormer(c, gguf);
}

Status WriteTransnormerGguf(const TransnormerConfig& c, const TensorSet& tensors, ModelWriter& w) {
  const std::string k = std::string(kArch) + ".";
  w.SetUint32(k + "vocab_size", uint32_t(c.vocab_size));
  w.SetUint32(k + "embedding_length", uint32_t(c.embed_dim));
  w.SetUint32(k + "hidden_dim", uint32_t(c.hidden_dim));
  w.SetUint32(k + "attention.head_count", uint32_t(c.n_heads));
  w.SetUint32(k + "block_count", uint32_t(c.n_layers));
  w.SetUint32(k + "glu_dim", uint32_t(c.glu_dim));
  std::vector<int32_t> lrpe;
  for (bool b : c.lrpe) lrpe.push_back(b ? 1 : 0);
  w.SetInt32Array(k + "lrpe_layers", lrpe);
  w.SetString(k + "linear_act_fun", TransnormerActivationName(c.act));
  w.SetBool(k + "scale_embedding", c.scale_embedding);
  w.SetBool(k + "tie_word_embeddings", c.tie_word_embeddings);
  w.SetFloat32(k + "norm_eps", c.norm_eps);
  for (const NamedTensor& t : tensors.tensors)
    FLOE_RETURN_IF_ERROR(w.AddTensor(t.name, t.shape, t.dtype, t.data, t.bytes));
  return Status::Ok();
}

}  // namespace floe
