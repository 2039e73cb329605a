// A GPT-NeoX stack as transformers v4.39's GPTNeoXModel computes it with the settings the
// Block Transformer uses (use_parallel_residual, attention biases, exact gelu, rotate-half
// rotary on the first rot_dim dims of each head), over rows that may belong to different
// sequences (each row has its own KV cache and position):
//   per layer:  x = x + Attn(LN1(x)) + MLP(LN2(x))          (GPTNeoXLayer, parallel residual)
//     Attn: [q|k|v] per head = W_qkv h + b (GPTNeoXAttention._split_heads of the fused rows),
//           rotate-half rotary (apply_rotary_pos_emb) on q, k at the row's position, causal
//           softmax(q k^T / sqrt(head_dim)) v over the row's cache, then W_o . + b_o
//     MLP:  W_down gelu(W_up h + b_up) + b_down            (GPTNeoXMLP, exact erf gelu)
//   out = LN_final(x)
// LayerNorm and GeluErf are platform/kernels/layer_norm.h's (torch.nn.LayerNorm's arithmetic).
#pragma once

#include <cstddef>

#include "attention/dense/kv_cache.h"
#include "models/block_transformer/block_transformer_config.h"
#include "models/block_transformer/block_transformer_weights.h"
#include "platform/base/aligned_buffer.h"
#include "platform/base/thread_context.h"

namespace floe {

// Working memory for up to `rows` rows of one stack.
struct NeoxScratch {
  Status Init(const NeoxConfig& c, size_t rows);
  size_t rows = 0;
  AlignedBuffer<float> buf;
  float *h = nullptr, *qkv = nullptr, *q = nullptr, *k = nullptr, *v = nullptr, *att = nullptr,
        *tmp = nullptr, *ffn = nullptr;
};

// x: n rows of c.hidden floats (n <= scratch.rows), updated in place to the stack's output
// after the final LayerNorm. Row r is at position pos[r] of caches[r]; its keys and values are
// stored there before attention, so rows of one cache at consecutive positions see each other
// causally. Positions must be < the cache's capacity.
void NeoxForward(const NeoxConfig& c, const NeoxWeights& w, size_t n, float* x,
                 KvCache* const* caches, const size_t* pos, NeoxScratch& s, ThreadContext& threads);

// y = W x + b for n rows (MatVec for one row, MatMul otherwise).
void NeoxLinear(const TensorView& w, const float* bias, const float* x, size_t n, float* y,
                ThreadContext& threads);

}  // namespace floe
