// GoldFinch weights under the official state-dict names (recursal/GoldFinch-paper, src/model.py)
// and their binding. Large matrices are views into the file; vectors and LoRA matrices are owned
// F32 copies, LoRA stored as [out x in] (the official files keep them [in x out]).
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "models/goldfinch/goldfinch_config.h"
#include "platform/base/status.h"
#include "platform/base/tensor.h"
#include "platform/base/tensor_set.h"

namespace floe {

// tmix_x060c2.TMix_x060c2: RWKV-6 time mix without the gate, plus the v2 value path.
struct FinchC2Weights {
  // Token-shift mixing vectors [C].
  const float *maa_x = nullptr, *maa_r = nullptr, *maa_k = nullptr, *maa_v = nullptr,
              *maa_w = nullptr, *maa_v2 = nullptr;
  TensorView maa_w1;                                 // [5R x C]
  std::array<TensorView, 5> maa_w2;                  // [C x R] each, official order r, k, v, w, v2
  const float* decay = nullptr;                      // time_decay [C]
  TensorView decay_w1, decay_w2;                     // [Rd x C], [C x Rd]
  TensorView value2_w1, value2_w2;                   // [Rv x C], [C x Rv]
  const float* bonus = nullptr;                      // time_faaaa [C]; used only when !use_v2
  TensorView receptance, key, value, output;         // [C x C]
  const float *ln_x_w = nullptr, *ln_x_b = nullptr;  // LayerNorm over C
};

// tmix_gold.TMix_gold.
struct GoldWeights {
  const float *maa_x = nullptr, *maa_q = nullptr, *maa_v_cache = nullptr, *maa_k = nullptr,
              *maa_v = nullptr;     // [C]
  TensorView q_w1, q_w2;            // [Rq x C], [C x Rq]
  TensorView kv_w1;                 // [2Rq x C]
  std::array<TensorView, 2> kv_w2;  // [C x Rq]: k, v
  TensorView key_w1, key_w2;        // [Rk x C], [C x Rk]
  TensorView value_w1, value_w2;    // [Rk x C], [C x Rk]
  TensorView query, output;         // [C x C]
  const float *ln_q_w = nullptr, *ln_q_b = nullptr, *ln_k_w = nullptr, *ln_k_b = nullptr,
              *ln_v_w = nullptr, *ln_v_b = nullptr, *ln_x_w = nullptr, *ln_x_b = nullptr;
};

struct GoldfinchLayerWeights {
  const float *ln1_w = nullptr, *ln1_b = nullptr, *ln2_w = nullptr, *ln2_b = nullptr;
  FinchC2Weights finch;  // layers < first_gold_layer
  GoldWeights gold;      // layers >= first_gold_layer
  // Channel mix (cmix_x060).
  const float *ffn_maa_k = nullptr, *ffn_maa_r = nullptr;
  TensorView ffn_key, ffn_receptance, ffn_value;  // [F x C], [C x C], [C x F]
};

struct GoldfinchWeights {
  TensorView emb;  // [V x C]
  const float *ln0_w = nullptr, *ln0_b = nullptr;
  const float *ln_out_w = nullptr, *ln_out_b = nullptr;
  TensorView head;        // [V x C]
  TensorView kv_cache_a;  // [A x C]: c = W_a x at the first GOLD layer's input
  TensorView kv_cache_b;  // [C x (C + A)]: keys from [ln0(emb(token)); c]
  std::vector<GoldfinchLayerWeights> layers;
  std::vector<std::unique_ptr<float[]>> owned;
  size_t bytes = 0;  // weight bytes read per token
};

struct GoldfinchNetwork {
  GoldfinchConfig config;
  GoldfinchWeights weights;
};

// True when the set holds GoldFinch tensors (w_kv_cache_a.weight and RWKV-6 style blocks).
bool LooksLikeGoldfinch(const TensorSet& tensors);

// Derives the config from the tensor shapes (the first GOLD layer is the first block with
// att.time_maa_q), checks it against `json` when given (an official config.json), and binds
// every tensor, checking each shape; errors name the tensor or key. `tensors` must outlive
// the result.
Result<GoldfinchNetwork> BindGoldfinch(const TensorSet& tensors, const MetadataView* json);

}  // namespace floe
