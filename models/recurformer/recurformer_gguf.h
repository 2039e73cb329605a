// RecurFormer's GGUF layout (docs/models/recurformer.md): architecture "recurformer", a llama
// GGUF under the key prefix "recurformer." (context_length, embedding_length, block_count,
// feed_forward_length, attention.head_count, attention.head_count_kv, rope.dimension_count,
// rope.freq_base, attention.layer_norm_rms_epsilon; llama.cpp's names) and its tensors (llama.cpp
// names: token_embd, blk.N.attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_*, output_norm,
// output), plus:
//   recurformer.ssm.inner_size, ssm.state_size, ssm.conv_kernel, ssm.time_step_rank
//                                      the mixers' d_inner, d_state, d_conv, dt_rank
//   recurformer.blk.N.recurrent_heads  int32 array: the replaced KV heads of layer N, ascending
//                                      (absent or empty: none)
//   blk.N.ssm_in.weight [2 Di, D], ssm_conv1d.weight [Di, K], ssm_conv1d.bias [Di],
//   ssm_x.weight [R + 2 N, Di], ssm_dt.weight [Di, R], ssm_dt.bias [Di], ssm_a [Di, N]
//   (A = -exp(A_log), llama.cpp's stored form), ssm_d [Di],
//   ssm_out.weight [replaced query heads x head_dim, Di]   for each layer with replaced heads.
// The replaced heads' rows of attn_q/attn_k/attn_v and columns of attn_output stay in the file
// (a converted checkpoint keeps its shapes); the forward pass does not use them.
#pragma once

#include "models/recurformer/recurformer_config.h"
#include "platform/base/metadata_view.h"
#include "platform/base/model_writer.h"
#include "platform/base/tensor_set.h"

namespace floe {

// Views point into the file, which must outlive the network.
Result<RecurformerNetwork> RecurformerFromGguf(const MetadataView& metadata,
                                               const TensorSet& tensors);

// The keys and tensors above (matrices in their stored type). `config` must outlive `out`.
Status WriteRecurformerGguf(const RecurformerConfig& config, const RecurformerWeights& weights,
                            ModelWriter& out);

}  // namespace floe
