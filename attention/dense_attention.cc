#include "attention/dense_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "platform/kernels/ops.h"

namespace floe {

namespace {

constexpr size_t kKeyTile = 128;

}  // namespace

// Online softmax over tiles of kKeyTile keys.
void DenseAttendOne(const KvCache& cache, size_t layer, size_t kv_head, const float* q,
                   size_t n_keys, float* out) {
  const size_t hd = cache.head_dim();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const bool f16 = cache.dtype() == DType::kF16;
  float scores[kKeyTile];
  float running_max = -std::numeric_limits<float>::infinity();
  float running_sum = 0.0f;
  std::fill(out, out + hd, 0.0f);
  for (size_t t0 = 0; t0 < n_keys; t0 += kKeyTile) {
    const size_t nt = std::min(kKeyTile, n_keys - t0);
    float tile_max = -std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < nt; ++i) {
      const void* k = cache.Key(layer, t0 + i, kv_head);
      const float s = (f16 ? DotF16(q, static_cast<const uint16_t*>(k), hd)
                           : Dot(q, static_cast<const float*>(k), hd)) * scale;
      scores[i] = s;
      tile_max = std::max(tile_max, s);
    }
    const float new_max = std::max(running_max, tile_max);
    if (running_max != -std::numeric_limits<float>::infinity() && new_max != running_max) {
      const float correction = std::exp(running_max - new_max);
      Scale(out, correction, hd);
      running_sum *= correction;
    }
    running_max = new_max;
    for (size_t i = 0; i < nt; ++i) {
      const float p = std::exp(scores[i] - running_max);
      running_sum += p;
      const void* v = cache.Value(layer, t0 + i, kv_head);
      if (f16) AxpyF16(p, static_cast<const uint16_t*>(v), out, hd);
      else Axpy(p, static_cast<const float*>(v), out, hd);
    }
  }
  if (running_sum > 0.0f) Scale(out, 1.0f / running_sum, hd);
}

void DenseAttention(const DenseAttentionArgs& a, ThreadContext* threads) {
  const size_t hd = a.cache->head_dim();
  const size_t group = a.n_heads / a.cache->n_kv_heads();
  const size_t row = a.n_heads * hd;
  auto work = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const size_t t = i / a.n_heads, h = i % a.n_heads;
      DenseAttendOne(*a.cache, a.layer, h / group, a.q + t * row + h * hd, a.first_pos + t + 1,
                    a.out + t * row + h * hd);
    }
  };
  const size_t n = a.n_tokens * a.n_heads;
  if (threads) threads->ParallelFor(n, 1, work);
  else work(0, n);
}

}  // namespace floe
