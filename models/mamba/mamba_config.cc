#include "models/mamba/mamba_config.h"

#include <string>

namespace floe {

namespace {

Status ConfigError(const std::string& what) {
  return InvalidArgument("Mamba config.json: " + what);
}

std::string Quoted(const char* key) {
  std::string s(1, '\'');
  s += key;
  s += '\'';
  return s;
}

Result<size_t> PositiveKey(const MetadataView& m, const char* key, size_t fallback, bool required) {
  if (!m.Has(key)) {
    if (required) return ConfigError("missing required key " + Quoted(key));
    return fallback;
  }
  auto v = m.GetInt(key);
  if (!v.ok() || *v <= 0) return ConfigError(Quoted(key) + " must be a positive integer");
  if (uint64_t(*v) > (uint64_t(1) << 32)) return ConfigError(Quoted(key) + " is implausibly large");
  return size_t(*v);
}

Result<bool> FlagKey(const MetadataView& m, const char* key, bool fallback) {
  if (!m.Has(key)) return fallback;
  auto v = m.GetBool(key);
  if (!v.ok()) return ConfigError(Quoted(key) + " must be true/false (or 0/1)");
  return *v;
}

}  // namespace

Status MambaConfig::Validate() const {
  if (vocab_size == 0) return ConfigError("'vocab_size' must be positive");
  if (d_model == 0) return ConfigError("'d_model' must be positive");
  if (n_layer == 0) return ConfigError("'n_layer' must be positive");
  if (d_inner == 0) return ConfigError("'ssm_cfg.expand' must be positive (d_inner = 0)");
  if (d_state == 0) return ConfigError("'ssm_cfg.d_state' must be positive");
  if (d_conv == 0) return ConfigError("'ssm_cfg.d_conv' must be positive");
  if (dt_rank == 0) return ConfigError("'ssm_cfg.dt_rank' must be positive");
  if (vocab_size > (size_t(1) << 24)) return ConfigError("'vocab_size' is implausibly large");
  if (d_model > (size_t(1) << 16)) return ConfigError("'d_model' is implausibly large");
  if (d_inner > (size_t(1) << 18))
    return ConfigError("d_inner (ssm_cfg.expand * d_model) is implausibly large");
  if (n_layer > 1024) return ConfigError("'n_layer' is implausibly large");
  if (d_state > 1024) return ConfigError("'ssm_cfg.d_state' is implausibly large");
  if (d_conv > 64) return ConfigError("'ssm_cfg.d_conv' is implausibly large");
  if (dt_rank > d_inner) return ConfigError("'ssm_cfg.dt_rank' exceeds d_inner");
  if (!(norm_eps > 0.0f && norm_eps < 1.0f)) return ConfigError("norm epsilon is implausible");
  if (uint64_t(state_floats_per_layer()) * n_layer > (uint64_t(1) << 28))
    return ConfigError("the recurrent state per sequence is implausibly large");
  return Status::Ok();
}

Result<MambaConfig> MambaConfigFromHfConfig(const MetadataView& m) {
  MambaConfig c;
  FLOE_ASSIGN_OR_RETURN(c.d_model, PositiveKey(m, "d_model", 0, true));
  FLOE_ASSIGN_OR_RETURN(c.n_layer, PositiveKey(m, "n_layer", 0, true));
  FLOE_ASSIGN_OR_RETURN(size_t vocab, PositiveKey(m, "vocab_size", 0, true));
  FLOE_ASSIGN_OR_RETURN(size_t pad, PositiveKey(m, "pad_vocab_size_multiple", 8, false));
  if (vocab > (size_t(1) << 24) || pad > (size_t(1) << 16))
    return ConfigError("'vocab_size' or 'pad_vocab_size_multiple' is implausibly large");
  c.vocab_size = (vocab + pad - 1) / pad * pad;
  FLOE_ASSIGN_OR_RETURN(c.d_state, PositiveKey(m, "ssm_cfg.d_state", 16, false));
  FLOE_ASSIGN_OR_RETURN(c.d_conv, PositiveKey(m, "ssm_cfg.d_conv", 4, false));
  FLOE_ASSIGN_OR_RETURN(size_t expand, PositiveKey(m, "ssm_cfg.expand", 2, false));
  if (expand > 64) return ConfigError("'ssm_cfg.expand' is implausibly large");
  c.d_inner = expand * c.d_model;
  c.dt_rank = (c.d_model + 15) / 16;  // "auto": math.ceil(d_model / 16)
  if (m.Has("ssm_cfg.dt_rank")) {
    auto s = m.GetString("ssm_cfg.dt_rank");
    if (s.ok()) {
      if (*s != "auto") return ConfigError("'ssm_cfg.dt_rank' must be \"auto\" or an integer");
    } else {
      FLOE_ASSIGN_OR_RETURN(c.dt_rank, PositiveKey(m, "ssm_cfg.dt_rank", 0, true));
    }
  }
  if (m.Has("ssm_cfg.layer")) {
    auto layer = m.GetString("ssm_cfg.layer");
    if (!layer.ok() || *layer != "Mamba1")
      return Unsupported(
          "Mamba config.json: 'ssm_cfg.layer' is not \"Mamba1\" (floe runs Mamba-1)");
  }
  FLOE_ASSIGN_OR_RETURN(bool conv_bias, FlagKey(m, "ssm_cfg.conv_bias", true));
  if (!conv_bias)
    return Unsupported("Mamba config.json: 'ssm_cfg.conv_bias' = false is not supported");
  FLOE_ASSIGN_OR_RETURN(bool bias, FlagKey(m, "ssm_cfg.bias", false));
  if (bias)
    return Unsupported(
        "Mamba config.json: 'ssm_cfg.bias' = true (in/out projection biases) is not supported");
  FLOE_ASSIGN_OR_RETURN(bool rms, FlagKey(m, "rms_norm", true));
  if (!rms)
    return Unsupported("Mamba config.json: 'rms_norm' = false (LayerNorm) is not supported");
  if (m.Has("d_intermediate")) {
    auto v = m.GetInt("d_intermediate");
    if (!v.ok() || *v < 0) return ConfigError("'d_intermediate' must be a non-negative integer");
    if (*v != 0)
      return Unsupported(
          "Mamba config.json: 'd_intermediate' > 0 (an MLP in every block) is not supported");
  }
  if (m.Has("attn_layer_idx")) {
    auto v = m.GetInt32Array("attn_layer_idx");
    if (!v.ok()) return ConfigError("'attn_layer_idx' must be an array of integers");
    if (!v->empty())
      return Unsupported("Mamba config.json: 'attn_layer_idx' (attention layers) is not supported");
  }
  // residual_in_fp32 only changes the residual's dtype under mixed precision; floe keeps the
  // residual in fp32 always. fused_add_norm selects a fused kernel with the same arithmetic.
  FLOE_RETURN_IF_ERROR(FlagKey(m, "residual_in_fp32", true).status());
  FLOE_ASSIGN_OR_RETURN(c.tie_embeddings, FlagKey(m, "tie_embeddings", true));
  FLOE_RETURN_IF_ERROR(c.Validate());
  return c;
}

}  // namespace floe
