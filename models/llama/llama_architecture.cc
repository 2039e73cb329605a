#include "models/llama/llama_architecture.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "models/llama/llama3_rope_factors.h"
#include "models/llama/llama_gguf.h"
#include "models/llama/llama_model.h"
#include "platform/quant/encode_rows.h"

namespace floe {

size_t LlamaWeightBytes(const LlamaWeights& w) {
  size_t n = w.token_embd.bytes() + w.output_norm.bytes() +
             (w.output.data != w.token_embd.data ? w.output.bytes() : 0);
  for (const auto& L : w.layers)
    n += L.attn_norm.bytes() + L.wq.bytes() + L.wk.bytes() + L.wv.bytes() + L.wo.bytes() +
         L.ffn_norm.bytes() + L.ffn_gate.bytes() + L.ffn_up.bytes() + L.ffn_down.bytes();
  return n;
}

namespace {

Result<BoundNetwork> FromGguf(const MetadataView& metadata, const TensorSet& tensors) {
  FLOE_ASSIGN_OR_RETURN(LlamaConfig config, LlamaConfigFromGguf(metadata, tensors));
  FLOE_ASSIGN_OR_RETURN(LlamaWeights weights, LlamaWeightsFromGguf(tensors, config));
  BoundNetwork net;
  net.weight_bytes = LlamaWeightBytes(weights);
  FLOE_ASSIGN_OR_RETURN(net.lm, LlamaModel::Create(config, std::move(weights)));
  return net;
}

Status WriteGguf(const CausalLm& model, const TensorSet&, ModelWriter& out) {
  const auto* lm = dynamic_cast<const LlamaModel*>(&model);
  if (lm == nullptr)
    return InvalidArgument("not a Llama-family model (architecture " + model.architecture() + ")");
  return WriteLlamaGguf(lm->config(), lm->weights(), out);
}

// Benchmark shapes: a small one for tests, the Llama-2-style 110M of llama2.c's stories110M,
// and a Llama-3.2-1B-like GQA model (vocabulary 32000 throughout).
struct Shape {
  size_t dim, layers, heads, kv_heads, ffn, vocab, context;
};
constexpr ModelPreset kPresets[] = {
    {"tiny", "dim 256, 4 layers, 8 heads (4 KV), ffn 768, vocab 32000", 32000},
    {"110m", "dim 768, 12 layers, 12 heads, ffn 2048, vocab 32000 (stories110M's shape)", 32000},
    {"1b", "dim 2048, 16 layers, 32 heads (8 KV), ffn 8192, vocab 32000 (Llama-3.2-1B-like)",
     32000},
    // Vanilla partners of the Block Transformer b4 presets: Pythia's widths, depths and
    // non-embedding parameters (SwiGLU ffn ~ 8/3 D) in the Llama block, vocabulary 50304.
    {"p70m", "dim 512, 6 layers, 8 heads, ffn 1376, vocab 50304 (19M non-embedding: pythia-70m)",
     50304},
    {"p160m",
     "dim 768, 12 layers, 12 heads, ffn 2048, vocab 50304 (85M non-embedding: pythia-160m)",
     50304},
    {"p410m",
     "dim 1024, 24 layers, 16 heads, ffn 2736, vocab 50304 (302M non-embedding: pythia-410m)",
     50304},
};
constexpr Shape kShapes[] = {
    {256, 4, 8, 4, 768, 32000, 32768},
    {768, 12, 12, 12, 2048, 32000, 32768},
    {2048, 16, 32, 8, 8192, 32000, 32768},
    {512, 6, 8, 8, 1376, 50304, 2048},
    {768, 12, 12, 12, 2048, 50304, 2048},
    {1024, 24, 16, 16, 2736, 50304, 2048},
};
constexpr DType kRandomTypes[] = {DType::kF32, DType::kF16, DType::kQ8_0, DType::kQ4_0};

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// n floats uniform with standard deviation `std_dev`, from (seed, tensor id).
void RandomValues(uint64_t seed, uint64_t id, size_t n, float std_dev, float* out) {
  const float a = std_dev * std::sqrt(3.0f);
  uint64_t s = Mix(seed ^ Mix(id));
  for (size_t i = 0; i < n; ++i) {
    s = Mix(s);
    out[i] = (float(s >> 40) * (2.0f / 16777216.0f) - 1.0f) * a;
  }
}

// make-model --rope-*: the keys (linear, yarn, none) or the rope_freqs tensor (llama3) a
// converter writes for that scaling; `factors` keeps the tensor's data until the file is written.
Status WriteRandomRopeScaling(const std::string& k, const RandomRopeScaling& r, size_t rot_dim,
                              float base, ModelWriter& w, std::vector<float>* factors) {
  if (r.type.empty()) return Status::Ok();
  auto bad = [](const std::string& m) { return InvalidArgument("make-model: " + m); };
  const bool none = r.type == "none";
  if (!none && r.type != "linear" && r.type != "yarn" && r.type != "llama3")
    return bad("unknown RoPE scaling '" + r.type + "' (none, linear, yarn, llama3)");
  if (!none && !(r.factor > 0.0f && std::isfinite(r.factor)))
    return bad("RoPE scaling " + r.type + " needs a factor > 0 (--rope-factor)");
  if (!(r.attn_factor >= 0.0f && std::isfinite(r.attn_factor)))
    return bad("the RoPE attn factor must be > 0");
  if (r.original_context > (size_t(1) << 24))
    return bad("RoPE original context " + std::to_string(r.original_context) + " is too large");
  if (r.attn_factor > 0.0f) w.SetFloat32(k + "rope.scaling.attn_factor", r.attn_factor);
  if (r.type == "llama3") {
    // As convert_hf_to_gguf.py: no scaling keys, the factors as a tensor.
    FLOE_ASSIGN_OR_RETURN(*factors, Llama3RopeFactors(rot_dim, base, r.factor, r.low_freq_factor,
                                                      r.high_freq_factor,
                                                      r.original_context ? r.original_context
                                                                         : 8192));
    return w.AddTensor(llama_names::kRopeFreqs, {factors->size()}, DType::kF32, factors->data(),
                       factors->size() * sizeof(float));
  }
  w.SetString(k + "rope.scaling.type", r.type);
  if (!none) w.SetFloat32(k + "rope.scaling.factor", r.factor);
  if (r.original_context > 0)
    w.SetUint32(k + "rope.scaling.original_context_length", uint32_t(r.original_context));
  return Status::Ok();
}

// Weights uniform with std 0.02 (the usual init scale: activations stay finite over long
// contexts), RMSNorm weights 1 + uniform with std 0.2. The float values depend only on the preset and seed (tensors
// are drawn in a fixed order), so files of one seed in different types quantize one model.
Status MakeRandom(const std::string& arch, const RandomModelOptions& o, ModelWriter& w,
                  const std::function<Status()>& finish) {
  size_t index = 0;
  while (index < std::size(kPresets) && o.preset != kPresets[index].name) ++index;
  if (index == std::size(kPresets)) return InvalidArgument("unknown preset '" + o.preset + "'");
  Shape p = kShapes[index];
  if (o.context_length > 0) p.context = o.context_length;
  const bool qwen2 = arch == "qwen2";
  const std::string k = arch + ".";
  w.SetUint32(k + "context_length", uint32_t(p.context));
  w.SetUint32(k + "embedding_length", uint32_t(p.dim));
  w.SetUint32(k + "block_count", uint32_t(p.layers));
  w.SetUint32(k + "feed_forward_length", uint32_t(p.ffn));
  w.SetUint32(k + "rope.dimension_count", uint32_t(p.dim / p.heads));
  w.SetUint32(k + "attention.head_count", uint32_t(p.heads));
  w.SetUint32(k + "attention.head_count_kv", uint32_t(p.kv_heads));
  w.SetFloat32(k + "attention.layer_norm_rms_epsilon", 1e-5f);
  w.SetFloat32(k + "rope.freq_base", 10000.0f);
  w.SetUint32(k + "vocab_size", uint32_t(p.vocab));

  std::vector<std::unique_ptr<std::vector<uint8_t>>> keep;  // data must live until finish()
  std::vector<float> rope_factors;
  FLOE_RETURN_IF_ERROR(
      WriteRandomRopeScaling(k, o.rope, p.dim / p.heads, 10000.0f, w, &rope_factors));
  std::vector<float> scratch;
  uint64_t id = 0;
  auto matrix = [&](const std::string& name, size_t rows, size_t cols) -> Status {
    scratch.resize(rows * cols);
    RandomValues(o.seed, id++, rows * cols, 0.02f, scratch.data());
    keep.push_back(std::make_unique<std::vector<uint8_t>>());
    FLOE_RETURN_IF_ERROR(EncodeRows(scratch.data(), rows, cols, o.type, keep.back().get()));
    return w.AddTensor(name, {rows, cols}, o.type, keep.back()->data(), keep.back()->size());
  };
  auto bias = [&](const std::string& name, size_t n) {
    keep.push_back(std::make_unique<std::vector<uint8_t>>(n * sizeof(float)));
    RandomValues(o.seed, id++, n, 0.02f, reinterpret_cast<float*>(keep.back()->data()));
    return w.AddTensor(name, {n}, DType::kF32, keep.back()->data(), n * sizeof(float));
  };
  // RMSNorm weights 1 + uniform(std 0.2): not all ones, so that a forward (or a reference)
  // that ignored them would be seen (issue 29 item 2).
  auto norm = [&](const std::string& name) {
    keep.push_back(std::make_unique<std::vector<uint8_t>>(p.dim * sizeof(float)));
    float* g = reinterpret_cast<float*>(keep.back()->data());
    RandomValues(o.seed, id++, p.dim, 0.2f, g);
    for (size_t i = 0; i < p.dim; ++i) g[i] += 1.0f;
    return w.AddTensor(name, {p.dim}, DType::kF32, g, p.dim * sizeof(float));
  };
  const size_t hd = p.dim / p.heads;
  using llama_names::Layer;
  using llama_names::LayerBias;
  FLOE_RETURN_IF_ERROR(matrix(llama_names::kTokenEmbd, p.vocab, p.dim));
  for (size_t l = 0; l < p.layers; ++l) {
    FLOE_RETURN_IF_ERROR(norm(Layer(l, "attn_norm")));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "attn_q"), p.heads * hd, p.dim));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "attn_k"), p.kv_heads * hd, p.dim));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "attn_v"), p.kv_heads * hd, p.dim));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "attn_output"), p.dim, p.heads * hd));
    if (qwen2) {
      FLOE_RETURN_IF_ERROR(bias(LayerBias(l, "attn_q"), p.heads * hd));
      FLOE_RETURN_IF_ERROR(bias(LayerBias(l, "attn_k"), p.kv_heads * hd));
      FLOE_RETURN_IF_ERROR(bias(LayerBias(l, "attn_v"), p.kv_heads * hd));
    }
    FLOE_RETURN_IF_ERROR(norm(Layer(l, "ffn_norm")));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "ffn_gate"), p.ffn, p.dim));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "ffn_up"), p.ffn, p.dim));
    FLOE_RETURN_IF_ERROR(matrix(Layer(l, "ffn_down"), p.dim, p.ffn));
  }
  FLOE_RETURN_IF_ERROR(norm(llama_names::kOutputNorm));
  FLOE_RETURN_IF_ERROR(matrix(llama_names::kOutput, p.vocab, p.dim));
  return finish();
}

Status MakeRandomLlama(const RandomModelOptions& o, ModelWriter& w,
                       const std::function<Status()>& finish) {
  return MakeRandom("llama", o, w, finish);
}
Status MakeRandomQwen2(const RandomModelOptions& o, ModelWriter& w,
                       const std::function<Status()>& finish) {
  return MakeRandom("qwen2", o, w, finish);
}

}  // namespace

const Architecture& LlamaArchitecture() {
  static const Architecture a{
      .name = "llama",
      .family = "Llama family: GQA, RoPE (adjacent pairs), RMSNorm, SwiGLU",
      .from_gguf = FromGguf,
      .recognises = nullptr,
      .from_checkpoint = nullptr,
      .write_gguf = WriteGguf,
      .presets = kPresets,
      .random_types = kRandomTypes,
      .make_random = MakeRandomLlama,
      .rope_scaling = true,
  };
  return a;
}

// The llama entry with qwen2's name, description and random init (the same binding: the
// config reads general.architecture's key prefix and gives qwen2 its biases and RoPE).
const Architecture& Qwen2Architecture() {
  static const Architecture a = [] {
    Architecture q = LlamaArchitecture();
    q.name = "qwen2";
    q.family = "Qwen2: the Llama block with q/k/v biases and NeoX (half-split) RoPE";
    q.make_random = MakeRandomQwen2;
    return q;
  }();
  return a;
}

}  // namespace floe
