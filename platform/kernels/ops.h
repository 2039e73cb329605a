// SIMD kernels: matrix-vector products, normalisation, activations, RoPE and vector helpers.
//
// Each public function picks the best Highway target for this CPU once per call
// (HWY_DYNAMIC_DISPATCH, see ops.cc) and runs a per-target loop from ops-inl.h / matmul-inl.h.
// Every kernel has a plain scalar twin in reference.h; tests/platform/kernels_test.cc runs each
// kernel on every compiled target against that twin with a stated tolerance.
//
// Contracts common to all functions: pointers are valid for the sizes given, inputs and outputs
// do not overlap unless a comment says so, sizes may be any value (no multiple-of-lanes
// requirement, 0 is allowed unless stated), nothing allocates on the heap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "platform/quant/quant.h"
#include "platform/base/tensor.h"
#include "platform/base/thread_context.h"

namespace floe {

// y[r] = sum_c W[r][c] * x[c] for r in [0, W.rows). W is F32, F16, BF16 or block-quantized
// (Q4_0, Q8_0, Q4_K, Q6_K: x is first quantized to 8-bit blocks of 32, see
// platform/kernels/quant_matvec-inl.h for the arithmetic; cols a multiple of the block); x has
// W.cols floats, y has W.rows floats. Parallel over blocks of rows in `tc` (nullptr => calling
// thread only). Each y[r] is computed by one thread in a fixed order, so results do not depend on
// the thread count, and equal MatMul's row for the same input bit for bit (same target).
void MatVec(const TensorView& w, const float* x, float* y, ThreadContext* tc);

// QuantizeActivations (platform/quant/quant.h) with the block quantization vectorized:
// identical results for finite x. n a multiple of 32 (256 for kQ8_K); storage as there.
QuantizedActivations QuantizeActivationsSimd(const float* x, size_t n, float* storage,
                                             ActivationQuant kind = ActivationQuant::kQ8_0);

// Y[t][r] = sum_c W[r][c] * X[t][c]; X is n_tokens x W.cols, Y is n_tokens x W.rows (row-major).
// Float weights with up to 16 tokens (batched decode): rows outer, each block of weight rows
// read once and widened in registers for every token, parallel over row blocks. More tokens:
// tiled (row panels x token groups x column chunks, F16/BF16 panels widened once per chunk and
// reused across tokens), parallel over tiles; BF16 weights on AVX512-BF16 CPUs take
// bf16 activations instead (MatMulRoundsActivationsToBf16). For F32/F16/BF16 weights Y[t] equals
// MatVec(W, X[t]) bit for bit. Quantized weights: each token's activations are quantized to
// 8-bit blocks as in MatVec and Y[t] equals MatVec(W, X[t]) bit for bit, for up to 16 tokens on
// every target and for any number of tokens of Q4_0 / Q8_0 on AVX-512 VNNI CPUs (row x token
// tiles of integer dot products, each decoded weight block reused for 4 tokens). Otherwise
// (more tokens of K-quants, or CPUs without VNNI) the weights are dequantized into the panels
// and meet float activations, differing from MatVec by about the activation quantization error.
void MatMul(const TensorView& w, const float* x, size_t n_tokens, float* y, ThreadContext* tc);
// The projection of n_tokens rows of x: MatVec for one token (decode), MatMul for more.
inline void MatMulTokens(const TensorView& w, const float* x, size_t n_tokens, float* y,
                         ThreadContext& threads) {
  if (n_tokens == 1)
    MatVec(w, x, y, &threads);
  else
    MatMul(w, x, n_tokens, y, &threads);
}
// Several products of one input: ys[i] = MatMul(*ws[i], x, n_tokens), bit for bit, with the
// activations quantized once and the rows of all products in one parallel pass where MatMul
// would take the 8-bit activation path (or, for float weights, MatVec's path) for every one
// of them (fewer thread hand-offs in decode: q/k/v, gate/up). ws and ys have equal sizes; all
// ws have x's column count.
void MatMulMany(std::span<const TensorView* const> ws, const float* x, size_t n_tokens,
                std::span<float* const> ys, ThreadContext* tc);
// Whether MatMul of a `t` matrix with n_tokens tokens takes the 8-bit activation path (so each
// Y[t] equals MatVec's) on this CPU's best target.
bool MatMulQuantizesActivations(DType t, size_t n_tokens);
// Whether MatVec / MatMul of a `t` matrix round the activations to bf16 on this CPU's best target:
// BF16 weights where the CPU has AVX512-BF16 and they are asked for (bf16_dot.h:
// FLOE_BF16_DOT=1). Each
// Y[t] then sums exact bf16 x bf16 products in float (bf16_dot-inl.h states the order), as
// llama.cpp computes BF16 matrices, and still equals MatVec's bit for bit.
bool MatMulRoundsActivationsToBf16(DType t);
// Whether Q4_0 / Q8_0 matrices are worth repacking into 16-row panels (platform/quant/
// row_panels.h) for this CPU's best target: where it has the AVX-512 VNNI panel kernels. Panel
// matrices compute the same bits on every target; elsewhere their portable loop is slow.
bool RowPanelKernelsPreferred();

// out[i] = weight[i] * (x[i] / sqrt(mean(x^2) + eps)), computed as llama2.c does
// (scale = 1/sqrtf(ss/n + eps) in float). `out` may alias `x`. n >= 1.
void RmsNorm(const float* x, const float* weight, size_t n, float eps, float* out);

// In place: x[i] = exp(x[i] - max) / sum_j exp(x[j] - max). n >= 1.
void Softmax(float* x, size_t n);

// Rotary position embedding on `n_heads` heads of `head_dim` floats (x holds n_heads*head_dim),
// at position `pos`, rotating the first `rot_dim` dims of each head (rot_dim even, <= head_dim;
// the rest is untouched). Pair i (0 <= i < rot_dim/2) turns by angle (float)pos * freq_i with
// freq_i = 1.0f / powf(freq_base, (float)(2*i) / (float)rot_dim) and cosf/sinf, exactly
// llama2.c's expression.
//   RopeInterleaved ("norm", llama2.c / llama.cpp LLAMA): pair (x[2i], x[2i+1]).
//   RopeHalfSplit (GPT-NeoX): pair (x[i], x[i + rot_dim/2]).
void RopeInterleaved(float* x, size_t n_heads, size_t head_dim, size_t rot_dim, size_t pos,
                     float freq_base);
void RopeHalfSplit(float* x, size_t n_heads, size_t head_dim, size_t rot_dim, size_t pos,
                   float freq_base);
// The same two pairings with each pair's cos and sin given (cos[i], sin[i], i < rot_dim/2; any
// magnitude included, e.g. RopeFrequencies::CosSin for scaled RoPE, rope_scaling.h):
// (x0, x1) -> (x0 cos[i] - x1 sin[i], x0 sin[i] + x1 cos[i]).
void RopeInterleavedCosSin(float* x, size_t n_heads, size_t head_dim, size_t rot_dim,
                           const float* cos, const float* sin);
void RopeHalfSplitCosSin(float* x, size_t n_heads, size_t head_dim, size_t rot_dim,
                         const float* cos, const float* sin);

// x = x * sigmoid(x), in place.
void Silu(float* x, size_t n);
// gate = silu(gate) * up, in place on gate.
void SwiGlu(float* gate, const float* up, size_t n);

// Index of the first maximum (ties -> lowest index). n >= 1. NaNs are never chosen unless
// x[0] is NaN (then 0, as in the scalar loop `if (x[i] > best)`).
size_t Argmax(const float* x, size_t n);

// sum_i a[i] * b[i].
float Dot(const float* a, const float* b, size_t n);
// sum_i a[i] * half(b[i]); b holds IEEE binary16 bit patterns (Inf/NaN/subnormals honoured).
float DotF16(const float* a, const uint16_t* b_f16, size_t n);

// y += alpha * x.
void Axpy(float alpha, const float* x, float* y, size_t n);
// y += alpha * half(x).
void AxpyF16(float alpha, const uint16_t* x_f16, float* y, size_t n);

// x *= s.
void Scale(float* x, float s, size_t n);
// y += a.
void Add(const float* a, float* y, size_t n);

// Decayed products for chunked linear attention / WKV (exp is Highway's, within 1 ulp; the
// argument is a log decay <= 0 in practice, any float is valid):
// sum_i a[i] * b[i] * exp(log_decay[i]).
float DecayedDot(const float* a, const float* b, const float* log_decay, size_t n);
// out[i] = x[i] * exp(log_decay[i]). `out` may alias `x`.
void ExpScale(const float* x, const float* log_decay, float* out, size_t n);

// Attention over a tile of n keys for n_q query heads sharing one KV head (GQA group). Key and
// value rows are `stride` elements apart, dtype F32 or F16; q and out are n_q x head_dim.
// scores[g * n + i] = scale * q_g . K_i
void AttentionScores(const float* q, size_t n_q, size_t head_dim, const void* keys, size_t stride,
                     DType dtype, size_t n, float scale, float* scores);
// One query row against scattered key rows: scores[i] = scale * q . K_{rows[i]}, K_r = keys +
// r * stride elements (the candidates of a kNN search; their rows are prefetched ahead).
void AttentionScoresGather(const float* q, size_t head_dim, const void* keys, size_t stride,
                           DType dtype, const uint32_t* rows, size_t n, float scale, float* scores);
// Up to 16 query rows against scattered key rows, key-major (a search block's queries against
// its shared kNN candidates): out[i * 16 + g] = scale * sum_c qt[c * 16 + g] * K_{rows[i]}[c],
// where qt holds the queries transposed (head_dim x 16; unused columns zero) and K_r = keys +
// r * stride elements. Each key row is read once for all 16 queries.
void AttentionScoresGather16(const float* qt, size_t head_dim, const void* keys, size_t stride,
                             DType dtype, const uint32_t* rows, size_t n, float scale, float* out);
// out[g * head_dim + c] += sum_i p[g * n + i] * V_i[c]
void AttentionAccumulate(const float* p, size_t n_q, size_t head_dim, const void* values,
                         size_t stride, DType dtype, size_t n, float* out);
// One key tile of an online (running max) softmax for one query row: s[0, visible) are its
// scores, s[visible, n) keys it must not see (1 <= visible <= n).
// m = max(*running_max, max_{i < visible} s[i]); s[i] = exp(s[i] - m) for i < visible and 0 for
// the rest; *running_max = m; returns sum_{i < visible} s[i] (after the update). exp is
// Highway's (within 1 ulp); the result depends only on s[0, visible), visible and *running_max.
float SoftmaxTile(float* s, size_t n, size_t visible, float* running_max);

}  // namespace floe
