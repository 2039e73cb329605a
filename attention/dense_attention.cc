#include "attention/dense_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "platform/kernels/ops.h"

namespace floe {

namespace {

constexpr size_t kKeyTile = 128;
constexpr size_t kMaxGroup = 16;  // query heads processed together (larger groups are split)

struct Ones {
  float v[kKeyTile];
  Ones() { std::fill(v, v + kKeyTile, 1.0f); }
};
const Ones kOnesTable;
const float* const kOnes = kOnesTable.v;

// n_q query heads (rows of q / out, head_dim apart) that share `kv_head`, against keys
// [0, n_keys): online softmax over tiles of kKeyTile keys; each key/value row is read once per
// tile for all n_q heads.
void AttendGroup(const KvCache& cache, size_t layer, size_t kv_head, const float* q, size_t n_q,
                 size_t n_keys, float* out) {
  const size_t hd = cache.head_dim();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const size_t stride = cache.pos_stride_bytes() / DTypeSize(cache.dtype());
  float scores[kMaxGroup * kKeyTile];
  float running_max[kMaxGroup], running_sum[kMaxGroup];
  std::fill(running_max, running_max + n_q, -std::numeric_limits<float>::infinity());
  std::fill(running_sum, running_sum + n_q, 0.0f);
  std::fill(out, out + n_q * hd, 0.0f);
  for (size_t t0 = 0; t0 < n_keys; t0 += kKeyTile) {
    const size_t nt = std::min(kKeyTile, n_keys - t0);
    AttentionScores(q, n_q, hd, cache.Key(layer, t0, kv_head), stride, cache.dtype(), nt, scale, scores);
    for (size_t g = 0; g < n_q; ++g) {
      float* s = scores + g * nt;
      float tile_max = -std::numeric_limits<float>::infinity();
      for (size_t i = 0; i < nt; ++i) tile_max = std::max(tile_max, s[i]);
      const float new_max = std::max(running_max[g], tile_max);
      if (running_max[g] != -std::numeric_limits<float>::infinity() && new_max != running_max[g]) {
        const float correction = std::exp(running_max[g] - new_max);
        Scale(out + g * hd, correction, hd);
        running_sum[g] *= correction;
      }
      running_max[g] = new_max;
      // p_i = exp(s_i - max), vectorised as ExpScale(1, s_i - max).
      for (size_t i = 0; i < nt; ++i) s[i] -= new_max;
      ExpScale(kOnes, s, s, nt);
      float sum = 0.0f;
      for (size_t i = 0; i < nt; ++i) sum += s[i];
      running_sum[g] += sum;
    }
    AttentionAccumulate(scores, n_q, hd, cache.Value(layer, t0, kv_head), stride, cache.dtype(), nt, out);
  }
  for (size_t g = 0; g < n_q; ++g)
    if (running_sum[g] > 0.0f) Scale(out + g * hd, 1.0f / running_sum[g], hd);
}

}  // namespace

void DenseAttendOne(const KvCache& cache, size_t layer, size_t kv_head, const float* q,
                    size_t n_keys, float* out) {
  AttendGroup(cache, layer, kv_head, q, 1, n_keys, out);
}

void DenseAttention(const DenseAttentionArgs& a, ThreadContext* threads) {
  const size_t hd = a.cache->head_dim();
  const size_t kv_heads = a.cache->n_kv_heads();
  const size_t group = a.n_heads / kv_heads;
  const size_t chunks = (group + kMaxGroup - 1) / kMaxGroup;  // sub-groups per KV head
  const size_t row = a.n_heads * hd;
  auto work = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const size_t t = i / (kv_heads * chunks), rest = i % (kv_heads * chunks);
      const size_t kv = rest / chunks, c = rest % chunks;
      const size_t h0 = kv * group + c * kMaxGroup, n_q = std::min(kMaxGroup, group - c * kMaxGroup);
      AttendGroup(*a.cache, a.layer, kv, a.q + t * row + h0 * hd, n_q, a.first_pos + t + 1,
                  a.out + t * row + h0 * hd);
    }
  };
  const size_t n = a.n_tokens * kv_heads * chunks;
  if (threads) threads->ParallelFor(n, 1, work);
  else work(0, n);
}

}  // namespace floe
