// RWKV-6 ("Finch", x060) hyperparameters and weights, bound from a TensorSet whatever file it
// came from. The official PyTorch names are used throughout (emb.weight, blocks.N.att.*,
// blocks.N.ffn.*, ln_out, head); the two on-disk layouts differ only in the LoRA matrices
// (and the shape, not the values, of time_decay / time_faaaa):
//   kOfficial  BlinkDL .pth / safetensors: time_maa_w1 (C, 5R), time_maa_w2 (5, R, C),
//              time_decay_w1 (C, Rd), time_decay_w2 (Rd, C)  — used as x @ W
//   kRwkvCpp   rwkv.cpp's converter stored them transposed: (5R, C), (5, C, R), (Rd, C), (C, Rd)
// Both are bound to the same row-major [out x in] views, so y = MatVec(W, x) everywhere.
// Large matrices stay views into the file (F32/F16/BF16); vectors and LoRA matrices are small
// and are converted to owned F32 copies.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <vector>

#include "platform/base/status.h"
#include "platform/base/tensor.h"
#include "platform/base/tensor_set.h"

namespace floe {

struct Rwkv6Config {
  size_t vocab_size = 0;
  size_t n_embd = 0;  // C (= dim_att; floe requires them equal, as rwkv.cpp and llama.cpp do)
  size_t n_layer = 0;
  size_t dim_ffn = 0;             // F
  size_t head_size = 0;           // N
  size_t n_head = 0;              // H, H * N == C
  size_t lora_mix = 0;            // R: rank of the token-shift (ddlerp) LoRA, 5 of them
  size_t lora_decay = 0;          // Rd: rank of the decay LoRA
  float ln_eps = 1e-5f;           // LayerNorm (ln0, ln1, ln2, ln_out)
  float group_norm_eps = 64e-5f;  // ln_x GroupNorm: 1e-5 * head_size_divisor^2 (divisor 8)
  // 0, or n: the residual stream is halved after every n-th layer (llama.cpp's GGUF converter
  // divides att.output / ffn.value of layer l by 2^(l / n) to keep fp16 activations in range).
  size_t rescale_every = 0;

  Status Validate() const;
};

struct Rwkv6LayerWeights {
  const float *ln1_w = nullptr, *ln1_b = nullptr, *ln2_w = nullptr, *ln2_b = nullptr;
  // Time mix: token-shift mixing vectors [C], in the order x, w, k, v, r, g.
  const float *maa_x = nullptr, *maa_w = nullptr, *maa_k = nullptr, *maa_v = nullptr,
              *maa_r = nullptr, *maa_g = nullptr;
  TensorView maa_w1;                                 // [5R x C]
  std::array<TensorView, 5> maa_w2;                  // [C x R] each, order w, k, v, r, g
  const float* decay = nullptr;                      // time_decay [C]
  TensorView decay_w1;                               // [Rd x C]
  TensorView decay_w2;                               // [C x Rd]
  const float* bonus = nullptr;                      // time_faaaa (u) [C] = H x N
  TensorView receptance, key, value, gate;           // [C x C]
  TensorView output;                                 // [C x C]
  const float *ln_x_w = nullptr, *ln_x_b = nullptr;  // GroupNorm(H) affine [C]
  // Channel mix.
  const float *ffn_maa_k = nullptr, *ffn_maa_r = nullptr;  // [C]
  TensorView ffn_key;                                      // [F x C]
  TensorView ffn_receptance;                               // [C x C]
  TensorView ffn_value;                                    // [C x F]
};

struct Rwkv6Weights {
  TensorView emb;                                  // [V x C]
  const float *ln0_w = nullptr, *ln0_b = nullptr;  // blocks.0.ln0, applied to the embedding
  const float *ln_out_w = nullptr, *ln_out_b = nullptr;
  TensorView head;  // [V x C]
  std::vector<Rwkv6LayerWeights> layers;
  // Owned F32 copies (vectors, LoRA matrices) the views above point into.
  std::vector<std::unique_ptr<float[]>> owned;
  size_t bytes = 0;  // weight bytes read per token
};

enum class Rwkv6Layout { kOfficial, kRwkvCpp };

struct Rwkv6Network {
  Rwkv6Config config;
  Rwkv6Weights weights;
};

// True when the set holds RWKV-6 tensors (blocks.0.att.time_maa_x).
bool LooksLikeRwkv6(const TensorSet& tensors);

// Derives the config from the tensor shapes and binds every tensor, checking each shape;
// a missing or misshapen tensor is an error naming it. `tensors` must outlive the result.
Result<Rwkv6Network> BindRwkv6(const TensorSet& tensors, Rwkv6Layout layout);

}  // namespace floe
