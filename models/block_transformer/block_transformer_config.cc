#include "models/block_transformer/block_transformer_config.h"

#include <cmath>
#include <string>

namespace floe {

namespace {

Status ConfigError(const std::string& what) {
  return InvalidArgument("Block Transformer config: " + what);
}

Result<size_t> Positive(const MetadataView& m, const std::string& key) {
  if (!m.Has(key)) return ConfigError("missing required key '" + key + "'");
  auto v = m.GetInt(key);
  if (!v.ok() || *v <= 0) return ConfigError("'" + key + "' must be a positive integer");
  if (uint64_t(*v) > (uint64_t(1) << 32)) return ConfigError("'" + key + "' is implausibly large");
  return size_t(*v);
}

Result<double> Number(const MetadataView& m, const std::string& key, double fallback) {
  if (!m.Has(key)) return fallback;
  auto v = m.GetFloat(key);
  if (!v.ok() || !std::isfinite(*v)) return ConfigError("'" + key + "' must be a number");
  return *v;
}

// A string key that must equal `want` when present (absent means the official default).
Status Expect(const MetadataView& m, const std::string& key, const std::string& want,
              bool required = false) {
  if (!m.Has(key)) {
    if (required) return ConfigError("missing required key '" + key + "'");
    return Status::Ok();
  }
  auto v = m.GetString(key);
  if (!v.ok()) return ConfigError("'" + key + "' must be a string");
  if (*v != want)
    return Unsupported("Block Transformer config: '" + key + "' is '" + *v + "'; floe runs '" +
                       want + "'");
  return Status::Ok();
}

Status ExpectFlag(const MetadataView& m, const std::string& key, bool want) {
  if (!m.Has(key)) return Status::Ok();
  auto v = m.GetBool(key);
  if (!v.ok()) return ConfigError("'" + key + "' must be true/false");
  if (*v != want)
    return Unsupported("Block Transformer config: '" + key + "' = " + (*v ? "true" : "false") +
                       " is not supported");
  return Status::Ok();
}

Status CheckNeox(const NeoxConfig& c, const std::string& name) {
  if (c.hidden == 0 || c.layers == 0 || c.heads == 0 || c.ffn == 0)
    return ConfigError(name +
                       ": hidden_size, num_hidden_layers, num_attention_heads and "
                       "intermediate_size must be positive");
  if (c.hidden % c.heads != 0)
    return ConfigError(name + ": num_attention_heads " + std::to_string(c.heads) +
                       " does not divide hidden_size " + std::to_string(c.hidden));
  if (c.hidden > (size_t(1) << 16) || c.ffn > (size_t(1) << 18) || c.layers > 1024)
    return ConfigError(name + ": sizes are implausibly large");
  if (c.rot_dim % 2 != 0 || c.rot_dim > c.head_dim())
    return ConfigError(name + ": rotary dims " + std::to_string(c.rot_dim) +
                       " must be even and at most head_dim " + std::to_string(c.head_dim()));
  if (!(c.rope_base > 1.0f && std::isfinite(c.rope_base)))
    return ConfigError(name + ": rotary_emb_base must be > 1");
  if (!(c.ln_eps > 0.0f && c.ln_eps < 1.0f))
    return ConfigError(name + ": layer_norm_eps is implausible");
  return Status::Ok();
}

Result<NeoxConfig> NeoxFromJson(const MetadataView& m, const std::string& p) {
  NeoxConfig c;
  FLOE_RETURN_IF_ERROR(Expect(m, p + "model_type", "gpt_neox"));
  FLOE_ASSIGN_OR_RETURN(c.hidden, Positive(m, p + "hidden_size"));
  FLOE_ASSIGN_OR_RETURN(c.layers, Positive(m, p + "num_hidden_layers"));
  FLOE_ASSIGN_OR_RETURN(c.heads, Positive(m, p + "num_attention_heads"));
  FLOE_ASSIGN_OR_RETURN(c.ffn, Positive(m, p + "intermediate_size"));
  if (c.hidden % c.heads != 0)
    return ConfigError("'" + p + "num_attention_heads' " + std::to_string(c.heads) +
                       " does not divide '" + p + "hidden_size' " + std::to_string(c.hidden));
  FLOE_ASSIGN_OR_RETURN(double pct, Number(m, p + "rotary_pct", 0.25));
  if (!(pct >= 0.0 && pct <= 1.0)) return ConfigError("'" + p + "rotary_pct' must be in [0, 1]");
  // GPTNeoXAttention: rotary_ndims = int(head_size * rotary_pct).
  c.rot_dim = size_t(double(c.head_dim()) * pct);
  FLOE_ASSIGN_OR_RETURN(double base, Number(m, p + "rotary_emb_base", 10000.0));
  c.rope_base = float(base);
  FLOE_ASSIGN_OR_RETURN(double eps, Number(m, p + "layer_norm_eps", 1e-5));
  c.ln_eps = float(eps);
  FLOE_RETURN_IF_ERROR(Expect(m, p + "hidden_act", "gelu"));
  FLOE_RETURN_IF_ERROR(ExpectFlag(m, p + "use_parallel_residual", true));
  FLOE_RETURN_IF_ERROR(ExpectFlag(m, p + "attention_bias", true));
  if (m.Has(p + "rope_scaling"))
    return Unsupported("Block Transformer config: '" + p + "rope_scaling' is not supported");
  return c;
}

}  // namespace

Status BlockTransformerConfig::Validate() const {
  if (vocab_size == 0 || vocab_size > (size_t(1) << 24))
    return ConfigError("vocab_size must be in [1, 2^24]");
  if (block_length == 0 || block_length > 256)
    return ConfigError("block_length must be in [1, 256]");
  if (expansion_ratio == 0 || expansion_ratio > 256)
    return ConfigError("expansion_ratio must be in [1, 256]");
  if (embedder_dim == 0) return ConfigError("embedder hidden_size must be positive");
  if (context_length == 0 || context_length > (size_t(1) << 30))
    return ConfigError("context length is implausible");
  FLOE_RETURN_IF_ERROR(CheckNeox(block, "block decoder"));
  FLOE_RETURN_IF_ERROR(CheckNeox(token, "token decoder"));
  // model/embedder/base.py ("concat"): projection_hidden_size = hidden_size * block_length.
  if (block.hidden != embedder_dim * block_length)
    return ConfigError("block decoder hidden_size " + std::to_string(block.hidden) +
                       " is not block_length " + std::to_string(block_length) +
                       " x embedder hidden_size " + std::to_string(embedder_dim) +
                       " (the lookup embedder concatenates one lookup per token)");
  return Status::Ok();
}

Result<BlockTransformerConfig> BlockTransformerConfigFromJson(const MetadataView& m) {
  const std::string bt = "block_transformer_config.";
  const std::string r = "resolved.";
  if (!m.Has(bt + "block_length") || !m.Has(r + "block_decoder.hidden_size"))
    return ConfigError(
        "config.json needs 'block_transformer_config' (the official repo config) and "
        "'resolved' (the per-component configs its loader built)");
  BlockTransformerConfig c;
  FLOE_ASSIGN_OR_RETURN(c.block_length, Positive(m, bt + "block_length"));
  FLOE_RETURN_IF_ERROR(Expect(m, bt + "embedder.cls", "lookup", true));
  FLOE_RETURN_IF_ERROR(Expect(m, bt + "embedder.projection_method", "concat"));
  if (m.Has(bt + "embedder.n_embedding_tokens")) {
    FLOE_ASSIGN_OR_RETURN(size_t n, Positive(m, bt + "embedder.n_embedding_tokens"));
    if (n != 1)
      return Unsupported(
          "Block Transformer config: 'embedder.n_embedding_tokens' > 1 is not supported (the "
          "official generate() needs 1 too)");
  }
  FLOE_RETURN_IF_ERROR(Expect(m, bt + "block_decoder.cls", "gpt-neo-x", true));
  FLOE_RETURN_IF_ERROR(Expect(m, bt + "token_decoder.cls", "gpt-neo-x", true));
  FLOE_RETURN_IF_ERROR(Expect(m, bt + "token_decoder.decoding_strategy", "prefix", true));
  FLOE_RETURN_IF_ERROR(Expect(m, bt + "token_decoder.expansion_method", "expansion_layer", true));
  FLOE_ASSIGN_OR_RETURN(c.expansion_ratio, Positive(m, bt + "token_decoder.expansion_ratio"));
  FLOE_ASSIGN_OR_RETURN(c.embedder_dim, Positive(m, r + "embedder.hidden_size"));
  FLOE_ASSIGN_OR_RETURN(size_t embed_vocab, Positive(m, r + "embedder.vocab_size"));
  FLOE_ASSIGN_OR_RETURN(c.block, NeoxFromJson(m, r + "block_decoder."));
  FLOE_ASSIGN_OR_RETURN(c.token, NeoxFromJson(m, r + "token_decoder."));
  FLOE_ASSIGN_OR_RETURN(c.vocab_size, Positive(m, r + "token_decoder.vocab_size"));
  if (embed_vocab != c.vocab_size)
    return Unsupported("Block Transformer config: embedder vocab_size " +
                       std::to_string(embed_vocab) + " differs from the token decoder's " +
                       std::to_string(c.vocab_size) + " (a token mapper; not supported)");
  if (m.Has(bt + "max_length")) {
    FLOE_ASSIGN_OR_RETURN(c.context_length, Positive(m, bt + "max_length"));
  }
  FLOE_RETURN_IF_ERROR(c.Validate());
  return c;
}

}  // namespace floe
