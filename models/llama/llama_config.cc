#include "models/llama/llama_config.h"

#include <algorithm>
#include <cmath>

namespace floe {

namespace llama_names {
std::string Layer(size_t layer, const char* suffix) {
  return "blk." + std::to_string(layer) + "." + suffix + ".weight";
}
std::string LayerBias(size_t layer, const char* suffix) {
  return "blk." + std::to_string(layer) + "." + suffix + ".bias";
}
}  // namespace llama_names

const char* RopeScalingTypeName(RopeScalingType t) {
  switch (t) {
    case RopeScalingType::kNone:
      return "none";
    case RopeScalingType::kLinear:
      return "linear";
    case RopeScalingType::kYarn:
      return "yarn";
  }
  return "?";
}

RopeScaling LlamaConfig::rope_scaling() const {
  RopeScaling s;
  const LlamaRopeScaling& f = rope_file;
  if (f.type != RopeScalingType::kNone && f.factor != 0.0f) s.freq_scale = 1.0f / f.factor;
  s.ext_factor = f.type == RopeScalingType::kYarn ? 1.0f : 0.0f;
  s.attn_factor = f.attn_factor;
  s.original_context = f.original_context != 0 ? f.original_context : context_length;
  s.freq_factors = f.freq_factors;
  return s;
}

size_t LlamaConfig::usable_context() const {
  const LlamaRopeScaling& f = rope_file;
  if (f.type != RopeScalingType::kYarn || !(f.factor > 1.0f)) return context_length;
  const size_t orig = f.original_context != 0 ? f.original_context : context_length;
  const double extended = std::min(double(orig) * double(f.factor), double(size_t{1} << 26));
  return std::max(context_length, size_t(extended));
}

Status LlamaConfig::Validate() const {
  auto bad = [](const std::string& m) { return InvalidArgument("llama config: " + m); };
  if (dim == 0 || n_layers == 0 || n_heads == 0 || n_kv_heads == 0 || head_dim == 0 ||
      ffn_dim == 0 || vocab_size == 0 || context_length == 0)
    return bad("a dimension is zero (dim " + std::to_string(dim) + ", layers " +
               std::to_string(n_layers) + ", heads " + std::to_string(n_heads) + ", kv heads " +
               std::to_string(n_kv_heads) + ", ffn " + std::to_string(ffn_dim) + ", vocab " +
               std::to_string(vocab_size) + ", context " + std::to_string(context_length) + ")");
  const size_t kLimit = size_t{1} << 24;
  if (dim > kLimit || ffn_dim > kLimit || vocab_size > kLimit || n_layers > 4096 ||
      n_heads > 4096 || context_length > (size_t{1} << 26) || head_dim > 1024)
    return bad("a dimension is implausibly large");
  if (n_heads % n_kv_heads != 0)
    return bad("n_heads " + std::to_string(n_heads) + " is not a multiple of n_kv_heads " +
               std::to_string(n_kv_heads));
  if (rope_dim == 0 || rope_dim > head_dim || rope_dim % 2 != 0)
    return bad("rope dimension " + std::to_string(rope_dim) + " must be even and <= head_dim " +
               std::to_string(head_dim));
  if (!(rope_freq_base > 0.0f) || !(rms_eps > 0.0f) || !(rms_eps < 1.0f))
    return bad("rope freq base and rms eps must be positive");
  const LlamaRopeScaling& r = rope_file;
  if (!(r.factor >= 0.0f) || !std::isfinite(r.factor) || (r.factor != 0.0f && r.factor < 1e-6f))
    return bad("rope scaling factor " + std::to_string(r.factor) +
               " must be a positive finite number");
  if (!(r.attn_factor > 0.0f) || !std::isfinite(r.attn_factor))
    return bad("rope scaling attn factor " + std::to_string(r.attn_factor) +
               " must be a positive finite number");
  if (r.original_context > (size_t{1} << 26))
    return bad("rope scaling original context " + std::to_string(r.original_context) +
               " is implausibly large");
  if (!r.freq_factors.empty()) {
    if (r.freq_factors.size() != rope_dim / 2)
      return bad("rope_freqs has " + std::to_string(r.freq_factors.size()) +
                 " values, expected rope dimension / 2 = " + std::to_string(rope_dim / 2));
    for (size_t i = 0; i < r.freq_factors.size(); ++i)
      if (!(r.freq_factors[i] > 0.0f) || !std::isfinite(r.freq_factors[i]))
        return bad("rope_freqs[" + std::to_string(i) + "] = " +
                   std::to_string(r.freq_factors[i]) + " must be a positive finite number");
  }
  return Status::Ok();
}

namespace {

Status CheckTensor(const TensorView& t, const std::string& name, size_t rows, size_t cols) {
  if (t.data == nullptr) return NotFound("tensor " + name + " is missing");
  if (t.rows != rows || t.cols != cols)
    return CorruptData("tensor " + name + ": expected " + std::to_string(rows) + "x" +
                       std::to_string(cols) + " (rows x cols), file has " + std::to_string(t.rows) +
                       "x" + std::to_string(t.cols));
  return Status::Ok();
}

Status CheckNorm(const TensorView& t, const std::string& name, size_t n) {
  FLOE_RETURN_IF_ERROR(CheckTensor(t, name, 1, n));
  if (t.dtype != DType::kF32)
    return Unsupported("tensor " + name + ": norm weights and biases must be f32");
  return Status::Ok();
}

}  // namespace

Status ValidateLlamaWeights(const LlamaConfig& c, const LlamaWeights& w) {
  using llama_names::Layer;
  FLOE_RETURN_IF_ERROR(CheckTensor(w.token_embd, llama_names::kTokenEmbd, c.vocab_size, c.dim));
  FLOE_RETURN_IF_ERROR(CheckNorm(w.output_norm, llama_names::kOutputNorm, c.dim));
  FLOE_RETURN_IF_ERROR(CheckTensor(w.output, llama_names::kOutput, c.vocab_size, c.dim));
  if (w.layers.size() != c.n_layers)
    return CorruptData("expected " + std::to_string(c.n_layers) + " layers, have " +
                       std::to_string(w.layers.size()));
  for (size_t l = 0; l < c.n_layers; ++l) {
    const LlamaLayerWeights& L = w.layers[l];
    FLOE_RETURN_IF_ERROR(CheckNorm(L.attn_norm, Layer(l, "attn_norm"), c.dim));
    FLOE_RETURN_IF_ERROR(CheckTensor(L.wq, Layer(l, "attn_q"), c.q_dim(), c.dim));
    FLOE_RETURN_IF_ERROR(CheckTensor(L.wk, Layer(l, "attn_k"), c.kv_dim(), c.dim));
    FLOE_RETURN_IF_ERROR(CheckTensor(L.wv, Layer(l, "attn_v"), c.kv_dim(), c.dim));
    FLOE_RETURN_IF_ERROR(CheckTensor(L.wo, Layer(l, "attn_output"), c.dim, c.q_dim()));
    if (c.qkv_bias) {
      FLOE_RETURN_IF_ERROR(CheckNorm(L.bq, llama_names::LayerBias(l, "attn_q"), c.q_dim()));
      FLOE_RETURN_IF_ERROR(CheckNorm(L.bk, llama_names::LayerBias(l, "attn_k"), c.kv_dim()));
      FLOE_RETURN_IF_ERROR(CheckNorm(L.bv, llama_names::LayerBias(l, "attn_v"), c.kv_dim()));
    }
    FLOE_RETURN_IF_ERROR(CheckNorm(L.ffn_norm, Layer(l, "ffn_norm"), c.dim));
    FLOE_RETURN_IF_ERROR(CheckTensor(L.ffn_gate, Layer(l, "ffn_gate"), c.ffn_dim, c.dim));
    FLOE_RETURN_IF_ERROR(CheckTensor(L.ffn_up, Layer(l, "ffn_up"), c.ffn_dim, c.dim));
    FLOE_RETURN_IF_ERROR(CheckTensor(L.ffn_down, Layer(l, "ffn_down"), c.dim, c.ffn_dim));
  }
  return Status::Ok();
}

}  // namespace floe
