// llama.cpp's "rwkv6" GGUF layout (src/llama-arch.cpp, llama-model.cpp; convert_hf_to_gguf.py
// Rwkv6Model), read into floe's RWKV-6 network. Tensor names map to the official ones:
//   token_embd -> emb, token_embd_norm -> blocks.0.ln0, output_norm -> ln_out, output -> head,
//   blk.N.attn_norm / attn_norm_2 -> ln1 / ln2, time_mix_lerp_{x,w,k,v,r,g} (or the fused
//   {C,1,1,5} lerp in order w,k,v,r,g) -> att.time_maa_*, time_mix_w1/w2 -> time_maa_w1/w2,
//   time_mix_first -> time_faaaa, time_mix_decay(_w1,_w2) -> time_decay(_w1,_w2),
//   time_mix_{key,value,receptance,gate,output} -> att.*, time_mix_ln -> ln_x,
//   channel_mix_lerp_{k,r} -> ffn.time_maa_{k,r}, channel_mix_{key,value,receptance} -> ffn.*.
// The LoRA matrices are stored [out x in] as in rwkv.cpp (Rwkv6Layout::kRwkvCpp).
// Keys: rwkv6.embedding_length, block_count, wkv.head_size, feed_forward_length,
// time_mix_extra_dim, time_decay_extra_dim (checked against the shapes),
// attention.layer_norm_epsilon, rescale_every_n_layers (x is halved after every n-th layer,
// matching weights the converter divided by 2^(layer / n)).
#pragma once

#include "models/rwkv6/rwkv6_weights.h"
#include "platform/base/metadata_view.h"
#include "platform/base/model_writer.h"
#include "platform/base/tensor_set.h"

namespace floe {

// `tensors` are the GGUF's tensors under their GGUF names (runtime/formats/gguf: GgufTensors);
// views point into the file, which must outlive the network.
Result<Rwkv6Network> Rwkv6FromGguf(const MetadataView& metadata, const TensorSet& tensors);

// The inverse, for `floe convert` and make-model: the keys above and every tensor under its GGUF
// name, from the same name table; large matrices keep their type, vectors and LoRA are f32, the
// five time_maa_w2 LoRA matrices go in one tensor, rescale_every_n_layers is the config's.
Status WriteRwkv6Gguf(const Rwkv6Config& config, const Rwkv6Weights& weights, ModelWriter& out);

}  // namespace floe
