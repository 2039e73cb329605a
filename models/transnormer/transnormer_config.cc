#include "models/transnormer/transnormer_config.h"

#include <cmath>
#include <string>

namespace floe {

namespace {

Status ConfigError(const std::string& what) {
  return InvalidArgument("TransNormerLLM config.json: " + what);
}

// 'key' (built piecewise: GCC 12's -Wrestrict misfires on "'" + std::string(...)).
std::string Quoted(const char* key) {
  std::string s(1, '\'');
  s += key;
  s += '\'';
  return s;
}

// A required positive integer key.
Result<size_t> PositiveKey(const MetadataView& m, const char* key) {
  if (!m.Has(key)) return ConfigError("missing required key " + Quoted(key));
  auto v = m.GetInt(key);
  if (!v.ok() || *v <= 0) return ConfigError(Quoted(key) + " must be a positive integer");
  return size_t(*v);
}

// An optional boolean key; the official configs also write 0/1 for flags.
Result<bool> FlagKey(const MetadataView& m, const char* key, bool fallback) {
  if (!m.Has(key)) return fallback;
  auto v = m.GetBool(key);
  if (!v.ok()) return ConfigError(Quoted(key) + " must be true/false (or 0/1)");
  return *v;
}

}  // namespace

Status TransnormerConfig::Validate() const {
  if (vocab_size == 0 || embed_dim == 0 || hidden_dim == 0 || n_heads == 0 || n_layers == 0 ||
      glu_dim == 0)
    return ConfigError(
        "vocab_size, decoder_embed_dim, hidden_dim, decoder_attention_heads, "
        "decoder_layers and glu_dim must all be positive");
  if (vocab_size > (size_t(1) << 24) || embed_dim > (size_t(1) << 16) ||
      hidden_dim > (size_t(1) << 16) || glu_dim > (size_t(1) << 20) || n_layers > 1024 ||
      n_heads > 1024)
    return ConfigError("hyperparameters are implausibly large");
  if (n_layers < 2)
    return ConfigError(
        "decoder_layers must be >= 2 (the official per-layer decay scaling divides by "
        "decoder_layers - 1)");
  if (hidden_dim % n_heads != 0)
    return ConfigError("decoder_attention_heads (" + std::to_string(n_heads) +
                       ") does not divide hidden_dim (" + std::to_string(hidden_dim) + ")");
  if (embed_dim % n_heads != 0)
    return ConfigError("decoder_attention_heads (" + std::to_string(n_heads) +
                       ") does not divide decoder_embed_dim (" + std::to_string(embed_dim) + ")");
  if (lrpe.size() != n_layers)
    return ConfigError("linear_use_lrpe_list has " + std::to_string(lrpe.size()) +
                       " entries, decoder_layers is " + std::to_string(n_layers));
  for (size_t l = 0; l < n_layers; ++l)
    if (lrpe[l] && hidden_dim != embed_dim)
      return ConfigError("LRPE (layer " + std::to_string(l) +
                         ") needs hidden_dim == decoder_embed_dim (got " +
                         std::to_string(hidden_dim) + " and " + std::to_string(embed_dim) + ")");
  // The state is H d_k d_v floats per layer, quadratic in the head size: bound it, so a small
  // hostile file cannot make every new sequence allocate gigabytes (published models: d_h 128,
  // tens of MiB).
  if (head_dim() > 1024)
    return ConfigError("head size " + std::to_string(head_dim()) + " is implausibly large");
  if (state_floats() > (size_t(1) << 28))
    return ConfigError("the recurrent state (" + std::to_string(state_floats() / (1 << 18)) +
                       " MiB per sequence) is implausibly large");
  return Status::Ok();
}

Result<TransnormerConfig> TransnormerConfigFromHfConfig(const MetadataView& root) {
  if (root.Has("model_type")) {
    auto mt = root.GetString("model_type");
    if (!mt.ok() || *mt != "transnormer") return ConfigError("model_type is not \"transnormer\"");
  }
  TransnormerConfig c;
  FLOE_ASSIGN_OR_RETURN(c.vocab_size, PositiveKey(root, "vocab_size"));
  FLOE_ASSIGN_OR_RETURN(c.embed_dim, PositiveKey(root, "decoder_embed_dim"));
  FLOE_ASSIGN_OR_RETURN(c.hidden_dim, PositiveKey(root, "hidden_dim"));
  FLOE_ASSIGN_OR_RETURN(c.n_heads, PositiveKey(root, "decoder_attention_heads"));
  FLOE_ASSIGN_OR_RETURN(c.n_layers, PositiveKey(root, "decoder_layers"));
  // Checked here, before the per-layer flags are sized by it (Validate runs later).
  if (c.n_layers > 1024) return ConfigError("'decoder_layers' is implausibly large");
  if (!root.Has("glu_dim")) return ConfigError("missing required key 'glu_dim'");
  if (auto glu = root.GetInt("glu_dim"); glu.ok() && *glu == -1)
    c.glu_dim = c.embed_dim;  // TransnormerDecoderLayer
  else {
    FLOE_ASSIGN_OR_RETURN(c.glu_dim, PositiveKey(root, "glu_dim"));
  }
  // LRPE flags: linear_use_lrpe_list; when it is empty the official model applies the scalar
  // linear_use_lrpe to every layer.
  std::vector<int32_t> list;
  if (root.Has("linear_use_lrpe_list")) {
    auto l = root.GetInt32Array("linear_use_lrpe_list");
    if (!l.ok()) return ConfigError("'linear_use_lrpe_list' must be an array of 0/1 or true/false");
    list = std::move(l).value();
  }
  if (!list.empty()) {
    if (list.size() > 4096) return ConfigError("'linear_use_lrpe_list' is implausibly long");
    for (int32_t item : list) {
      if (item != 0 && item != 1)
        return ConfigError("'linear_use_lrpe_list' entries must be 0/1 or true/false");
      c.lrpe.push_back(item == 1);
    }
  } else {
    if (!root.Has("linear_use_lrpe"))
      return ConfigError("needs 'linear_use_lrpe_list' (one 0/1 per layer) or 'linear_use_lrpe'");
    FLOE_ASSIGN_OR_RETURN(bool all, FlagKey(root, "linear_use_lrpe", false));
    c.lrpe.assign(c.n_layers, all);
  }
  std::string act = "silu";
  if (root.Has("linear_act_fun")) {
    auto a = root.GetString("linear_act_fun");
    if (!a.ok()) return ConfigError("'linear_act_fun' must be a string");
    act = std::move(a).value();
  }
  FLOE_ASSIGN_OR_RETURN(c.act, ParseTransnormerActivation(act));
  if (root.Has("norm_type")) {
    auto nt = root.GetString("norm_type");
    if (!nt.ok()) return ConfigError("'norm_type' must be a string");
    if (*nt != "simplermsnorm")
      return Unsupported("TransNormerLLM config.json: norm_type '" + *nt +
                         "' is not supported (only simplermsnorm)");
  }
  FLOE_ASSIGN_OR_RETURN(bool bias, FlagKey(root, "bias", false));
  if (bias)
    return Unsupported(
        "TransNormerLLM config.json: bias = true (linear layers with biases) is not supported");
  FLOE_ASSIGN_OR_RETURN(bool no_scale, FlagKey(root, "no_scale_embedding", false));
  c.scale_embedding = !no_scale;
  FLOE_ASSIGN_OR_RETURN(c.tie_word_embeddings, FlagKey(root, "tie_word_embeddings", true));
  FLOE_RETURN_IF_ERROR(c.Validate());
  return c;
}

std::vector<double> TransnormerBaseSlopes(size_t n) {
  auto power_of_2 = [](size_t m) {
    const double start = std::pow(2.0, -std::pow(2.0, -(std::log2(double(m)) - 3.0)));
    std::vector<double> s(m);
    for (size_t i = 0; i < m; ++i) s[i] = start * std::pow(start, double(i));  // ratio = start
    return s;
  };
  if (n == 0) return {};
  size_t p = 1;
  while (p * 2 <= n) p *= 2;
  if (p == n) return power_of_2(n);
  std::vector<double> s = power_of_2(p);
  const std::vector<double> twice = TransnormerBaseSlopes(2 * p);
  for (size_t i = 0; s.size() < n; i += 2) s.push_back(twice[i]);
  return s;
}

float TransnormerDecayRate(const TransnormerConfig& c, size_t layer, size_t head) {
  const float base = float(TransnormerBaseSlopes(c.n_heads)[head]);
  const double scale = 1.0 - double(layer) / double(c.n_layers - 1) + 1e-5;
  return base * float(scale);
}

Result<TransnormerActivation> ParseTransnormerActivation(const std::string& name) {
  if (name == "silu" || name == "swish") return TransnormerActivation::kSilu;
  if (name == "relu") return TransnormerActivation::kRelu;
  if (name == "sigmoid") return TransnormerActivation::kSigmoid;
  if (name == "1+elu") return TransnormerActivation::kOnePlusElu;
  if (name == "none" || name == "identity") return TransnormerActivation::kIdentity;
  return Unsupported("TransNormerLLM linear_act_fun '" + name +
                     "' is not supported (supported: silu, swish, relu, sigmoid, 1+elu, none)");
}

const char* TransnormerActivationName(TransnormerActivation a) {
  switch (a) {
    case TransnormerActivation::kSilu:
      return "silu";
    case TransnormerActivation::kRelu:
      return "relu";
    case TransnormerActivation::kSigmoid:
      return "sigmoid";
    case TransnormerActivation::kOnePlusElu:
      return "1+elu";
    case TransnormerActivation::kIdentity:
      return "none";
  }
  return "none";
}

}  // namespace floe
