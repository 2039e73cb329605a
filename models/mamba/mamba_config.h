// Mamba-1 (Gu & Dao 2023, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces",
// arXiv 2312.00752) hyperparameters. The official checkpoints (state-spaces/mamba's
// MambaLMHeadModel) carry them in a config.json beside the weights (MambaConfig's keys:
// d_model, n_layer, vocab_size, ssm_cfg {d_state, d_conv, expand, dt_rank}, rms_norm,
// residual_in_fp32, pad_vocab_size_multiple, tie_embeddings); llama.cpp's GGUF carries them as
// mamba.* keys (mamba_gguf.h).
#pragma once

#include <cstddef>

#include "platform/base/metadata_view.h"
#include "platform/base/status.h"

namespace floe {

struct MambaConfig {
  size_t vocab_size = 0;  // the padded vocabulary: rows of the embedding and of the head
  size_t d_model = 0;     // residual width D
  size_t n_layer = 0;
  size_t d_inner = 0;   // expand * d_model
  size_t d_state = 16;  // N
  size_t d_conv = 4;    // causal depthwise conv kernel width K
  size_t dt_rank = 0;   // R: "auto" = ceil(d_model / 16)
  bool tie_embeddings = true;
  float norm_eps = 1e-5f;  // RMSNorm epsilon (MixerModel's norm_epsilon)

  // Floats of recurrent state per layer: the conv window (K - 1 inputs per channel) and the SSM
  // state (N per channel).
  size_t state_floats_per_layer() const { return d_inner * (d_conv - 1 + d_state); }

  // Positive sizes, plausible bounds (so a small hostile file cannot make every sequence
  // allocate gigabytes). Errors name the key.
  Status Validate() const;
};

// The config from the official config.json (MambaConfig's keys; ssm_cfg's keys are read as
// "ssm_cfg.<key>"). vocab_size is padded up to a multiple of pad_vocab_size_multiple, as
// MambaLMHeadModel does. Variants floe does not compute are kUnsupported naming the key:
// rms_norm = false (LayerNorm), d_intermediate > 0 (an MLP per block), attn_layer_idx
// non-empty (attention layers), ssm_cfg.layer other than Mamba1, ssm_cfg.conv_bias = false,
// ssm_cfg.bias = true.
Result<MambaConfig> MambaConfigFromHfConfig(const MetadataView& config);

}  // namespace floe
