#include "models/recurformer/recurformer_gguf.h"

#include <string>
#include <string_view>
#include <vector>

#include "models/llama/llama_gguf.h"
#include "models/mamba/mamba_gguf.h"

namespace floe {

namespace {

// The file's keys as the Llama binding reads them: "llama.X" is "recurformer.X", and
// general.architecture reads "llama", so the Llama part binds (and is checked) exactly as a
// llama GGUF.
class LlamaKeys final : public MetadataView {
 public:
  explicit LlamaKeys(const MetadataView& f) : f_(f) {}
  std::string_view source() const override { return f_.source(); }
  bool Has(std::string_view key) const override { return f_.Has(Map(key)); }
  Result<uint64_t> GetUint(std::string_view key) const override { return f_.GetUint(Map(key)); }
  Result<int64_t> GetInt(std::string_view key) const override { return f_.GetInt(Map(key)); }
  Result<double> GetFloat(std::string_view key) const override { return f_.GetFloat(Map(key)); }
  Result<bool> GetBool(std::string_view key) const override { return f_.GetBool(Map(key)); }
  Result<std::string> GetString(std::string_view key) const override {
    if (key == "general.architecture") return std::string("llama");
    return f_.GetString(Map(key));
  }
  Result<std::vector<int32_t>> GetInt32Array(std::string_view key) const override {
    return f_.GetInt32Array(Map(key));
  }

 private:
  static std::string Map(std::string_view key) {
    constexpr std::string_view kLlama = "llama.";
    if (key.substr(0, kLlama.size()) == kLlama)
      return "recurformer." + std::string(key.substr(kLlama.size()));
    return std::string(key);
  }
  const MetadataView& f_;
};

Result<size_t> SsmKey(const MetadataView& f, const std::string& key) {
  auto v = f.GetUint(key);
  if (!v.ok()) return Status(v.status()).WithContext("recurformer GGUF");
  if (*v == 0 || *v > (uint64_t(1) << 20))
    return CorruptData("recurformer GGUF: " + key + " = " + std::to_string(*v) + " is implausible");
  return size_t(*v);
}

std::string HeadsKey(size_t layer) {
  return "recurformer.blk." + std::to_string(layer) + ".recurrent_heads";
}

}  // namespace

Result<RecurformerNetwork> RecurformerFromGguf(const MetadataView& f, const TensorSet& tensors) {
  RecurformerNetwork net;
  RecurformerConfig& c = net.config;
  const LlamaKeys keys(f);
  FLOE_ASSIGN_OR_RETURN(c.llama, LlamaConfigFromGguf(keys, tensors));
  c.llama.arch = "recurformer";
  const size_t L = c.llama.n_layers;
  c.recurrent.assign(L, {});
  bool any = false;
  for (size_t l = 0; l < L; ++l) {
    if (!f.Has(HeadsKey(l))) continue;
    FLOE_ASSIGN_OR_RETURN(std::vector<int32_t> heads, f.GetInt32Array(HeadsKey(l)));
    for (int32_t h : heads) {
      if (h < 0)
        return InvalidArgument(HeadsKey(l) + ": KV head " + std::to_string(h) + " is negative");
      c.recurrent[l].push_back(size_t(h));
    }
    any = any || !heads.empty();
  }
  if (f.Has(HeadsKey(L)))
    return InvalidArgument(HeadsKey(L) + " is present but the model has " + std::to_string(L) +
                           " layers");
  c.ssm.d_model = c.llama.dim;
  c.ssm.vocab_size = c.llama.vocab_size;
  c.ssm.n_layer = L;
  c.ssm.norm_eps = c.llama.rms_eps;
  if (any) {
    FLOE_ASSIGN_OR_RETURN(c.ssm.d_inner, SsmKey(f, "recurformer.ssm.inner_size"));
    FLOE_ASSIGN_OR_RETURN(c.ssm.d_state, SsmKey(f, "recurformer.ssm.state_size"));
    FLOE_ASSIGN_OR_RETURN(c.ssm.d_conv, SsmKey(f, "recurformer.ssm.conv_kernel"));
    FLOE_ASSIGN_OR_RETURN(c.ssm.dt_rank, SsmKey(f, "recurformer.ssm.time_step_rank"));
  }
  FLOE_RETURN_IF_ERROR(c.Validate());
  FLOE_ASSIGN_OR_RETURN(net.weights.llama, LlamaWeightsFromGguf(tensors, c.llama));
  FLOE_RETURN_IF_ERROR(ValidateLlamaWeights(c.llama, net.weights.llama));
  MambaWeights& m = net.weights.mamba;
  m.layers.resize(L);
  for (size_t l = 0; l < L; ++l) {
    const std::string prefix = "blk." + std::to_string(l) + ".";
    if (!c.has_mixer(l)) {
      if (tensors.Find(prefix + kGgufMixerNames.in_proj) != nullptr)
        return InvalidArgument("tensor '" + prefix + kGgufMixerNames.in_proj + "' is present but " +
                               HeadsKey(l) + " lists no recurrent heads");
      continue;
    }
    FLOE_RETURN_IF_ERROR(BindMambaMixer(c.ssm, tensors, prefix, kGgufMixerNames,
                                        MambaAForm::kNegExp, c.mixer_out(l),
                                        "the recurformer GGUF keys", &m, &m.layers[l]));
  }
  return net;
}

Status WriteRecurformerGguf(const RecurformerConfig& c, const RecurformerWeights& w,
                            ModelWriter& out) {
  FLOE_RETURN_IF_ERROR(WriteLlamaGguf(c.llama, w.llama, out));  // under "recurformer."
  bool any = false;
  for (size_t l = 0; l < c.llama.n_layers; ++l) {
    if (!c.has_mixer(l)) continue;
    any = true;
    out.SetInt32Array(HeadsKey(l),
                      std::vector<int32_t>(c.recurrent[l].begin(), c.recurrent[l].end()));
    FLOE_RETURN_IF_ERROR(
        WriteMambaMixerGguf(c.ssm, w.mamba.layers[l], "blk." + std::to_string(l) + ".", out));
  }
  if (any) {
    out.SetUint32("recurformer.ssm.inner_size", uint32_t(c.ssm.d_inner));
    out.SetUint32("recurformer.ssm.state_size", uint32_t(c.ssm.d_state));
    out.SetUint32("recurformer.ssm.conv_kernel", uint32_t(c.ssm.d_conv));
    out.SetUint32("recurformer.ssm.time_step_rank", uint32_t(c.ssm.dt_rank));
  }
  return Status::Ok();
}

}  // namespace floe
