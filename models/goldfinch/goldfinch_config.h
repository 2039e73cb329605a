// GoldFinch (Goldstein et al. 2024, arXiv 2407.12077; code: recursal/GoldFinch-paper): the
// hyperparameters of a Finch-C2 + GOLD hybrid. Layers [0, first_gold_layer) are Finch-C2
// (tmix_x060c2), layers [first_gold_layer, n_layer) are GOLD (tmix_gold); every layer has the
// RWKV-6 channel mix (cmix_x060). The official code puts the first GOLD layer at
// int(n_layer * (ratio - 1) / ratio) for inv_other_layer_ratio = ratio.
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/base/metadata_view.h"
#include "platform/base/status.h"

namespace floe {

struct GoldfinchConfig {
  size_t vocab_size = 0;
  size_t n_embd = 0;  // C (= dim_att: the official GOLD layers add n_embd and dim_att vectors)
  size_t n_layer = 0;
  size_t dim_ffn = 0;
  size_t head_size = 0;  // N
  size_t n_head = 0;     // H, H * N == C
  size_t first_gold_layer = 0;
  size_t kv_a_dim = 0;          // A = C / kv_cache_compression_ratio: the TokenCat value per token
  size_t lora_mix = 0;          // Finch-C2 token-shift LoRA rank (5 mixes: r, k, v, w, v2)
  size_t lora_decay = 0;        // Finch-C2 decay LoRA rank
  size_t lora_value2 = 0;       // Finch-C2 v2 LoRA rank
  size_t gold_lora_mix = 0;     // GOLD q and kv token-shift LoRA rank
  size_t gold_lora_value = 0;   // GOLD key / value LoRA rank
  bool use_one_minus_w = true;  // Finch-C2: k scaled by (1 - w)
  bool use_v2 = true;           // Finch-C2: u = 0 and the v2 value path added to the WKV output
  float ln_eps = 1e-5f;         // every LayerNorm (ln0..2, ln_out, ln_x, ln_q, ln_k, ln_v)
  float rms_eps = 1e-8f;        // src/norm.py rms_norm: x / (||x|| / sqrt(C) + eps)

  size_t n_gold() const { return n_layer - first_gold_layer; }
  // Errors name the offending key (GGUF names).
  Status Validate() const;
};

// The official first GOLD layer for inv_other_layer_ratio `ratio` (src/model.py).
size_t GoldfinchFirstGoldLayer(size_t n_layer, double ratio);

// Checks an official config.json (configs.FinchC2_Config fields: n_layer, n_embd, dim_att,
// dim_ffn, head_size, vocab_size, inv_other_layer_ratio, first_gold_layer,
// kv_cache_compression_ratio, use_one_minus_w, use_v2) against a config derived from the
// tensors, and takes the flags the tensors cannot show (use_one_minus_w, use_v2). Keys absent
// from the file are not checked. A contradiction is kCorruptData naming the key.
Status ApplyGoldfinchJson(const MetadataView& json, GoldfinchConfig* config);

}  // namespace floe
