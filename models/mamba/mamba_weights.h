// Mamba-1 weights, bound from a TensorSet under the official state-spaces/mamba names
// (MambaLMHeadModel.state_dict()):
//   backbone.embedding.weight                  [V x D]
//   backbone.layers.N.norm.weight              [D]
//   backbone.layers.N.mixer.in_proj.weight     [2 Di x D]   (x rows, then z rows)
//   backbone.layers.N.mixer.conv1d.weight      [Di x 1 x K] (also accepted: [Di x K])
//   backbone.layers.N.mixer.conv1d.bias        [Di]
//   backbone.layers.N.mixer.x_proj.weight      [R + 2N x Di] (dt, B, C rows)
//   backbone.layers.N.mixer.dt_proj.weight     [Di x R]
//   backbone.layers.N.mixer.dt_proj.bias       [Di]
//   backbone.layers.N.mixer.A_log              [Di x N]
//   backbone.layers.N.mixer.D                  [Di]
//   backbone.layers.N.mixer.out_proj.weight    [D x Di]
//   backbone.norm_f.weight                     [D]
//   lm_head.weight                             [V x D]  (absent or ignored when tied)
// Matrices stay views into the file (F32/F16/BF16; quantized types from GGUF); vectors, the
// conv kernel and A are converted to owned F32 arrays in the layouts the forward pass uses.
#pragma once

#include <memory>
#include <vector>

#include "models/mamba/mamba_config.h"
#include "platform/base/status.h"
#include "platform/base/tensor.h"
#include "platform/base/tensor_set.h"

namespace floe {

struct MambaLayerWeights {
  const float* norm = nullptr;     // [D]
  TensorView in_proj;              // [2 Di x D]
  const float* conv_t = nullptr;   // [K][Di]: the conv kernel transposed (tap-major)
  const float* conv_b = nullptr;   // [Di]
  TensorView x_proj;               // [R + 2N x Di]
  TensorView dt_proj;              // [Di x R]
  const float* dt_bias = nullptr;  // [Di]
  const float* A = nullptr;        // [Di][N] = -exp(A_log), the stored (llama.cpp) layout
  const float* A_t = nullptr;      // [N][Di], the same transposed (selective_scan.h)
  const float* D = nullptr;        // [Di]
  TensorView out_proj;             // [D x Di]
};

struct MambaWeights {
  TensorView embed;    // [V x D]
  TensorView lm_head;  // [V x D]; the embedding itself when tied
  const float* norm_f = nullptr;
  std::vector<MambaLayerWeights> layers;
  std::vector<std::unique_ptr<float[]>> owned;
  size_t bytes = 0;  // weight bytes read per token
};

struct MambaNetwork {
  MambaConfig config;
  MambaWeights weights;
};

// How the set stores A: the official A_log, or llama.cpp's A = -exp(A_log).
enum class MambaAForm { kALog, kNegExp };

// The names of one mixer's tensors after a prefix: the official ones ("in_proj.weight", ...)
// or another file's (RecurFormer's GGUF uses llama.cpp's "ssm_in.weight", ...).
struct MambaMixerNames {
  const char *in_proj, *conv_w, *conv_b, *x_proj, *dt_w, *dt_b, *a, *d, *out_proj;
};
extern const MambaMixerNames kOfficialMixerNames;

// Binds one mixer's tensors, named prefix + names.*, into *out: in_proj [2 Di x d_model],
// conv1d, x_proj, dt_proj, A, D as in BindMamba, and out_proj [d_out x Di]. Owned arrays go to
// w->owned and the bytes to w->bytes.
Status BindMambaMixer(const MambaConfig& config, const TensorSet& tensors,
                      const std::string& prefix, const MambaMixerNames& names, MambaAForm a_form,
                      size_t d_out, const char* source, MambaWeights* w, MambaLayerWeights* out);

// True when the set holds official Mamba tensors (backbone.layers.0.mixer.A_log).
bool LooksLikeMamba(const TensorSet& tensors);

// Binds every tensor the config implies, checking each shape against it; a missing or
// misshapen tensor is an error naming it and the config value it contradicts (d_inner,
// dt_rank, d_state, ...), and so is a layer beyond n_layer. `tensors` must outlive the result.
// `source` names where the config came from in errors ("config.json", "GGUF").
Result<MambaNetwork> BindMamba(const MambaConfig& config, const TensorSet& tensors, MambaAForm a,
                               const char* source = "config.json");

}  // namespace floe
