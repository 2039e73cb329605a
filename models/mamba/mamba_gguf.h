// llama.cpp's "mamba" GGUF layout (src/llama-arch.cpp LLM_ARCH_MAMBA, src/llama-model.cpp
// load_tensors, convert_hf_to_gguf.py MambaModel), read into and written from floe's Mamba
// network. Keys:
//   mamba.embedding_length                 D
//   mamba.block_count                      n_layer
//   mamba.ssm.conv_kernel                  K
//   mamba.ssm.inner_size                   d_inner
//   mamba.ssm.state_size                   N
//   mamba.ssm.time_step_rank               R
//   mamba.attention.layer_norm_rms_epsilon RMSNorm epsilon (optional; 1e-5)
//   mamba.ssm.dt_b_c_rms                   optional; true (FalconMamba) is not supported
// written also: mamba.context_length, feed_forward_length = 0, attention.head_count = 0 (llama.cpp
// reads them). Tensors (PyTorch shape order; ne reversed in the file):
//   token_embd.weight [V, D], output_norm.weight [D], output.weight [V, D] (absent when tied),
//   blk.N.attn_norm.weight [D], blk.N.ssm_in.weight [2 Di, D],
//   blk.N.ssm_conv1d.weight [Di, K] (also read: [Di, 1, K]), blk.N.ssm_conv1d.bias [Di],
//   blk.N.ssm_x.weight [R + 2N, Di], blk.N.ssm_dt.weight [Di, R], blk.N.ssm_dt.bias [Di],
//   blk.N.ssm_a [Di, N] holding A = -exp(A_log) (the converter's stored form), blk.N.ssm_d [Di],
//   blk.N.ssm_out.weight [D, Di].
// The vocabulary size is the embedding's row count.
#pragma once

#include <string>

#include "models/mamba/mamba_weights.h"
#include "platform/base/metadata_view.h"
#include "platform/base/model_writer.h"
#include "platform/base/tensor_set.h"

namespace floe {

// One mixer's GGUF tensor names (after "blk.N."); "ssm_a" holds A = -exp(A_log)
// (MambaAForm::kNegExp).
extern const MambaMixerNames kGgufMixerNames;

// `tensors` are the GGUF's tensors under their GGUF names; views point into the file, which
// must outlive the network.
Result<MambaNetwork> MambaFromGguf(const MetadataView& metadata, const TensorSet& tensors);

// The keys and tensors above from a bound network: matrices keep their type, vectors, the conv
// kernel and A are f32.
Status WriteMambaGguf(const MambaConfig& config, const MambaWeights& weights, ModelWriter& out);
// One mixer's tensors under prefix + kGgufMixerNames (e.g. "blk.3.ssm_in.weight").
Status WriteMambaMixerGguf(const MambaConfig& config, const MambaLayerWeights& layer,
                           const std::string& prefix, ModelWriter& out);

}  // namespace floe
