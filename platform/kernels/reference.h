// Plain scalar references for every kernel in ops.h and search.h: obviously-correct loops,
// single-threaded, sums accumulated in double. They define what the SIMD kernels must compute; the
// tests run each SIMD kernel on every Highway target against these (and the CUDA plugin is checked
// against them too). Not for production use: they are slow by design.
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/kernels/search.h"
#include "platform/base/tensor.h"
#include "platform/base/thread_context.h"

namespace floe::reference {

// Same contracts as floe::MatVec / floe::MatMul; `tc` is ignored (kept for symmetry).
void MatVec(const TensorView& w, const float* x, float* y, ThreadContext* tc = nullptr);
void MatMul(const TensorView& w, const float* x, size_t n_tokens, float* y,
            ThreadContext* tc = nullptr);

void RmsNorm(const float* x, const float* weight, size_t n, float eps, float* out);
// layer_norm.h: mean and variance accumulated in double.
void LayerNorm(const float* x, const float* w, const float* b, size_t n, float eps, float* out);
void GeluErf(float* x, size_t n);
void Softmax(float* x, size_t n);
void RopeInterleaved(float* x, size_t n_heads, size_t head_dim, size_t rot_dim, size_t pos,
                     float freq_base);
void RopeHalfSplit(float* x, size_t n_heads, size_t head_dim, size_t rot_dim, size_t pos,
                   float freq_base);
void RopeInterleavedCosSin(float* x, size_t n_heads, size_t head_dim, size_t rot_dim,
                           const float* cos, const float* sin);
void RopeHalfSplitCosSin(float* x, size_t n_heads, size_t head_dim, size_t rot_dim,
                         const float* cos, const float* sin);
void Silu(float* x, size_t n);
void SwiGlu(float* gate, const float* up, size_t n);
size_t Argmax(const float* x, size_t n);
float Dot(const float* a, const float* b, size_t n);
float DotF16(const float* a, const uint16_t* b_f16, size_t n);
void Axpy(float alpha, const float* x, float* y, size_t n);
void AxpyF16(float alpha, const uint16_t* x_f16, float* y, size_t n);
void Scale(float* x, float s, size_t n);
void Add(const float* a, float* y, size_t n);
float DecayedDot(const float* a, const float* b, const float* log_decay, size_t n);
void ExpScale(const float* x, const float* log_decay, float* out, size_t n);
void AttentionScores(const float* q, size_t n_q, size_t head_dim, const void* keys, size_t stride,
                     DType dtype, size_t n, float scale, float* scores);
void AttentionScoresGather(const float* q, size_t head_dim, const void* keys, size_t stride,
                           DType dtype, const uint32_t* rows, size_t n, float scale, float* scores);
void AttentionScoresGather16(const float* qt, size_t head_dim, const void* keys, size_t stride,
                             DType dtype, const uint32_t* rows, size_t n, float scale, float* out);
void AttentionAccumulate(const float* p, size_t n_q, size_t head_dim, const void* values,
                         size_t stride, DType dtype, size_t n, float* out);
// SoftmaxTile of ops.h: max and exp in double.
float SoftmaxTile(float* s, size_t n, size_t visible, float* running_max);

// The kernels of search.h, one record at a time (same contracts).
RunCollected CollectRunForward(const ValueId* r, size_t n, float target, float tau, uint32_t lo,
                               uint32_t span, size_t max_out, uint32_t* out);
RunCollected CollectRunBackward(const ValueId* end, size_t n, float target, float tau, uint32_t lo,
                                uint32_t span, size_t max_out, uint32_t* out);
size_t FindStampedInAll(const uint32_t* ids, size_t n, uint32_t lo, const uint8_t* const* maps,
                        size_t n_maps, uint8_t stamp, uint32_t* hits);
size_t LaneGroupMaxima16(const float* scores, const uint32_t* ids, size_t n, const uint32_t* lim,
                         size_t per, float* maxima);
void LaneOffers16(const float* scores, const uint32_t* ids, size_t n, const uint32_t* lim,
                  const float* cut, uint16_t* masks, size_t* admitted);
// NearestRow16's distances, in double: dist[j] = sq[j] - 2 sum_c x[c] row_j[c] for every row of
// the blocks (the kernel's choice is checked against these within rounding).
void RowDistances16(const float* x, const float* blocks, const float* sq, size_t dim,
                    size_t n_blocks, double* dist);

// Element `c` of row `r` of `w` as float (exact for F32/F16/BF16).
float WeightAt(const TensorView& w, size_t r, size_t c);

}  // namespace floe::reference
