#include "models/goldfinch/goldfinch_config.h"

#include <cmath>
#include <string>

namespace floe {

namespace {

std::string Num(size_t v) { return std::to_string(v); }

}  // namespace

size_t GoldfinchFirstGoldLayer(size_t n_layer, double ratio) {
  return size_t(std::floor(double(n_layer) * (ratio - 1.0) / ratio));
}

Status GoldfinchConfig::Validate() const {
  const struct {
    const char* key;
    size_t value;
  } positive[] = {
      {"goldfinch.vocab_size", vocab_size},
      {"goldfinch.embedding_length", n_embd},
      {"goldfinch.block_count", n_layer},
      {"goldfinch.feed_forward_length", dim_ffn},
      {"goldfinch.wkv.head_size", head_size},
      {"goldfinch.kv_cache_a_dim", kv_a_dim},
      {"goldfinch.time_mix_extra_dim", lora_mix},
      {"goldfinch.time_decay_extra_dim", lora_decay},
      {"goldfinch.time_value2_extra_dim", lora_value2},
      {"goldfinch.gold.time_mix_extra_dim", gold_lora_mix},
      {"goldfinch.gold.value_extra_dim", gold_lora_value},
  };
  for (const auto& p : positive)
    if (p.value == 0) return InvalidArgument(std::string(p.key) + " must be positive");
  if (n_embd > (1u << 16) || dim_ffn > (1u << 20) || n_layer > 1024 || head_size > 1024 ||
      vocab_size > (1u << 24) || kv_a_dim > n_embd || lora_mix > 4096 || lora_decay > 4096 ||
      lora_value2 > 4096 || gold_lora_mix > 4096 || gold_lora_value > 4096)
    return InvalidArgument("goldfinch hyperparameters are implausibly large");
  if (n_embd % head_size != 0 || n_head * head_size != n_embd)
    return InvalidArgument("goldfinch.wkv.head_size " + Num(head_size) +
                           " does not divide goldfinch.embedding_length " + Num(n_embd) +
                           " into the " + Num(n_head) + " heads");
  if (first_gold_layer < 1 || first_gold_layer >= n_layer)
    return InvalidArgument("goldfinch.first_gold_layer " + Num(first_gold_layer) +
                           " is out of range: GoldFinch needs at least one Finch-C2 layer and "
                           "one GOLD layer, so it must be in [1, " +
                           Num(n_layer) + ")");
  return Status::Ok();
}

Status ApplyGoldfinchJson(const MetadataView& json, GoldfinchConfig* c) {
  auto check = [&](const char* key, size_t have) -> Status {
    if (!json.Has(key)) return Status::Ok();
    FLOE_ASSIGN_OR_RETURN(uint64_t v, json.GetUint(key));
    if (v != have)
      return CorruptData(std::string(json.source()) + ": " + key + " = " + std::to_string(v) +
                         " contradicts the tensors (" + Num(have) + ")");
    return Status::Ok();
  };
  FLOE_RETURN_IF_ERROR(check("n_layer", c->n_layer));
  FLOE_RETURN_IF_ERROR(check("n_embd", c->n_embd));
  FLOE_RETURN_IF_ERROR(check("dim_att", c->n_embd));
  FLOE_RETURN_IF_ERROR(check("dim_ffn", c->dim_ffn));
  FLOE_RETURN_IF_ERROR(check("head_size", c->head_size));
  FLOE_RETURN_IF_ERROR(check("n_head", c->n_head));
  FLOE_RETURN_IF_ERROR(check("vocab_size", c->vocab_size));
  FLOE_RETURN_IF_ERROR(check("first_gold_layer", c->first_gold_layer));
  FLOE_RETURN_IF_ERROR(check("kv_cache_a_dim", c->kv_a_dim));
  if (json.Has("inv_other_layer_ratio")) {
    FLOE_ASSIGN_OR_RETURN(double ratio, json.GetFloat("inv_other_layer_ratio"));
    if (!(ratio > 1.0) || ratio > 1e6)
      return CorruptData(std::string(json.source()) + ": inv_other_layer_ratio " +
                         std::to_string(ratio) + " must be > 1");
    const size_t first = GoldfinchFirstGoldLayer(c->n_layer, ratio);
    if (first != c->first_gold_layer)
      return CorruptData(std::string(json.source()) + ": inv_other_layer_ratio " +
                         std::to_string(ratio) + " puts the first GOLD layer at " + Num(first) +
                         ", the tensors at " + Num(c->first_gold_layer));
  }
  if (json.Has("kv_cache_compression_ratio")) {
    FLOE_ASSIGN_OR_RETURN(uint64_t r, json.GetUint("kv_cache_compression_ratio"));
    if (r == 0 || c->n_embd / r != c->kv_a_dim)
      return CorruptData(std::string(json.source()) + ": kv_cache_compression_ratio " +
                         std::to_string(r) + " contradicts w_kv_cache_a (" + Num(c->kv_a_dim) +
                         " rows for n_embd " + Num(c->n_embd) + ")");
  }
  if (json.Has("use_one_minus_w")) {
    FLOE_ASSIGN_OR_RETURN(c->use_one_minus_w, json.GetBool("use_one_minus_w"));
  }
  if (json.Has("use_v2")) {
    FLOE_ASSIGN_OR_RETURN(c->use_v2, json.GetBool("use_v2"));
  }
  return Status::Ok();
}

}  // namespace floe
