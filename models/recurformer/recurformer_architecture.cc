#include "models/recurformer/recurformer_architecture.h"

#include <string>
#include <utility>
#include <vector>

#include "models/llama/llama_architecture.h"
#include "models/mamba/mamba_gguf.h"
#include "models/mamba/mamba_random.h"
#include "models/recurformer/recurformer_gguf.h"
#include "models/recurformer/recurformer_model.h"

namespace floe {

namespace {

// "tiny": the Llama tiny preset's block (dim 256, 4 layers, 8 heads on 4 KV heads, vocab 32000)
// with a layer of each kind: some heads replaced, none, two, and every head (no KV cache).
constexpr ModelPreset kPresets[] = {
    {"tiny",
     "llama tiny (dim 256, 4 layers, 8 heads / 4 KV, vocab 32000); recurrent KV heads per "
     "layer: {1}, {}, {0, 3}, {0, 1, 2, 3}; mixers d_inner 512, d_state 16",
     32000},
};
constexpr DType kRandomTypes[] = {DType::kF32, DType::kF16, DType::kQ8_0};

Result<BoundNetwork> FromGguf(const MetadataView& metadata, const TensorSet& tensors) {
  FLOE_ASSIGN_OR_RETURN(RecurformerNetwork net, RecurformerFromGguf(metadata, tensors));
  BoundNetwork out;
  out.weight_bytes = LlamaWeightBytes(net.weights.llama) + net.weights.mamba.bytes;
  FLOE_ASSIGN_OR_RETURN(out.lm, RecurformerModel::Create(std::move(net)));
  return out;
}

Status WriteGguf(const CausalLm& model, const TensorSet&, ModelWriter& out) {
  const auto* lm = dynamic_cast<const RecurformerModel*>(&model);
  if (lm == nullptr)
    return InvalidArgument("not a RecurFormer model (architecture " + model.architecture() + ")");
  return WriteRecurformerGguf(lm->config(), lm->weights(), out);
}

// The Llama random init's keys under "recurformer." (its tensors pass through unchanged).
class RenamedLlamaKeys final : public ModelWriter {
 public:
  explicit RenamedLlamaKeys(ModelWriter& out) : out_(out) {}
  void SetUint32(std::string key, uint32_t v) override { out_.SetUint32(Map(key), v); }
  void SetFloat32(std::string key, float v) override { out_.SetFloat32(Map(key), v); }
  void SetBool(std::string key, bool v) override { out_.SetBool(Map(key), v); }
  void SetString(std::string key, std::string v) override { out_.SetString(Map(key), v); }
  void SetInt32Array(std::string key, std::vector<int32_t> v) override {
    out_.SetInt32Array(Map(key), std::move(v));
  }
  Status AddTensor(std::string name, std::vector<uint64_t> shape, DType dtype, const void* data,
                   size_t bytes) override {
    return out_.AddTensor(std::move(name), std::move(shape), dtype, data, bytes);
  }
  void* Keep(size_t bytes) override { return out_.Keep(bytes); }

 private:
  static std::string Map(const std::string& key) {
    return key.rfind("llama.", 0) == 0 ? "recurformer." + key.substr(6) : key;
  }
  ModelWriter& out_;
};

// The Llama tiny preset's random weights, then one Mamba-1 mixer per layer with replaced heads:
// the official initialisation (mamba_random.h) with out_proj cut to the replaced heads' rows.
Status MakeRandom(const RandomModelOptions& o, ModelWriter& out,
                  const std::function<Status()>& finish) {
  if (o.preset != "tiny")
    return InvalidArgument("unknown recurformer preset '" + o.preset + "' (tiny)");
  RecurformerConfig c;
  c.llama.dim = 256;
  c.llama.n_layers = 4;
  c.llama.n_heads = 8;
  c.llama.n_kv_heads = 4;
  c.llama.head_dim = 32;
  c.recurrent = {{1}, {}, {0, 3}, {0, 1, 2, 3}};
  MambaConfig& m = c.ssm;
  m.d_model = c.llama.dim;
  m.n_layer = 3;  // layers with a mixer
  m.vocab_size = 8;
  m.d_inner = 2 * m.d_model;
  m.d_state = 16;
  m.d_conv = 4;
  m.dt_rank = (m.d_model + 15) / 16;
  FLOE_ASSIGN_OR_RETURN(auto mixers, MakeRandomMamba(m, o.seed ^ 0x5ec0, o.type));
  MambaWeights bound;
  RenamedLlamaKeys renamed(out);
  return LlamaArchitecture().make_random(o, renamed, [&]() -> Status {
    size_t j = 0;
    bound.layers.resize(c.llama.n_layers);
    for (size_t l = 0; l < c.llama.n_layers; ++l) {
      if (!c.has_mixer(l)) continue;
      MambaLayerWeights& L = bound.layers[l];
      const std::string p = "backbone.layers." + std::to_string(j++) + ".mixer.";
      FLOE_RETURN_IF_ERROR(BindMambaMixer(m, mixers->tensors, p, kOfficialMixerNames,
                                          MambaAForm::kALog, m.d_model, "the preset", &bound, &L));
      L.out_proj.rows = c.mixer_out(l);  // the first rows: row-major, whole rows
      out.SetInt32Array("recurformer.blk." + std::to_string(l) + ".recurrent_heads",
                        std::vector<int32_t>(c.recurrent[l].begin(), c.recurrent[l].end()));
    }
    // Only the mixers and keys: the Llama tensors are already in `out`.
    for (size_t l = 0; l < c.llama.n_layers; ++l)
      if (c.has_mixer(l))
        FLOE_RETURN_IF_ERROR(
            WriteMambaMixerGguf(m, bound.layers[l], "blk." + std::to_string(l) + ".", out));
    out.SetUint32("recurformer.ssm.inner_size", uint32_t(m.d_inner));
    out.SetUint32("recurformer.ssm.state_size", uint32_t(m.d_state));
    out.SetUint32("recurformer.ssm.conv_kernel", uint32_t(m.d_conv));
    out.SetUint32("recurformer.ssm.time_step_rank", uint32_t(m.dt_rank));
    return finish();
  });
}

}  // namespace

const Architecture& RecurformerArchitecture() {
  static const Architecture a{
      .name = "recurformer",
      .family = "RecurFormer: Llama with recency-aware heads replaced by Mamba-1 blocks",
      .from_gguf = FromGguf,
      .recognises = nullptr,
      .from_checkpoint = nullptr,
      .write_gguf = WriteGguf,
      .presets = kPresets,
      .random_types = kRandomTypes,
      .make_random = MakeRandom,
  };
  return a;
}

}  // namespace floe
