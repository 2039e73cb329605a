#include "attention/dense/dense_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "platform/kernels/ops.h"

namespace floe {

namespace {

constexpr size_t kKeyTile = 128;
// Query rows processed together against each key tile: the heads of a GQA group times a block
// of consecutive tokens (prefill), so a key/value tile is read from memory once for all of them.
constexpr size_t kMaxRows = 64;
constexpr size_t kMaxBlockHeadDim = 128;  // token blocks gather rows of up to this many dims
constexpr size_t kMaxGroup =
    16;  // query heads of one GQA group taken together (larger groups are split)

// n_rows query rows (q / out rows head_dim apart) that share `kv_head`; row r sees keys
// [0, n_keys[r]) (n_keys[r] >= 1, non-decreasing in r). Online softmax over tiles of kKeyTile
// keys; each key/value row is read once per tile for all rows. A row's keys beyond its limit in
// a tile get probability exactly 0, so each row's result is bit-identical to processing it
// alone (the same tiles, scores, running max and sums).
void AttendRows(const KvCache& cache, size_t layer, size_t kv_head, const float* q, size_t n_rows,
                const size_t* n_keys, float* out) {
  const size_t hd = cache.head_dim();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const size_t stride = cache.pos_stride_bytes() / DTypeSize(cache.dtype());
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  float scores[kMaxRows * kKeyTile];
  float running_max[kMaxRows], running_sum[kMaxRows];
  std::fill(running_max, running_max + n_rows, kNegInf);
  std::fill(running_sum, running_sum + n_rows, 0.0f);
  std::fill(out, out + n_rows * hd, 0.0f);
  const size_t max_keys = n_keys[n_rows - 1];
  size_t first = 0;  // rows [0, first) have no keys left in this and later tiles
  for (size_t t0 = 0; t0 < max_keys; t0 += kKeyTile) {
    const size_t nt = std::min(kKeyTile, max_keys - t0);
    while (n_keys[first] <= t0) ++first;
    const size_t rows = n_rows - first;
    AttentionScores(q + first * hd, rows, hd, cache.Key(layer, t0, kv_head), stride, cache.dtype(),
                    nt, scale, scores);
    for (size_t g = 0; g < rows; ++g) {
      const size_t r = first + g;
      const float old_max = running_max[r];
      const float sum =
          SoftmaxTile(scores + g * nt, nt, std::min(nt, n_keys[r] - t0), &running_max[r]);
      if (old_max != kNegInf && running_max[r] != old_max) {
        const float correction = std::exp(old_max - running_max[r]);
        Scale(out + r * hd, correction, hd);
        running_sum[r] *= correction;
      }
      running_sum[r] += sum;
    }
    AttentionAccumulate(scores, rows, hd, cache.Value(layer, t0, kv_head), stride, cache.dtype(),
                        nt, out + first * hd);
  }
  for (size_t r = 0; r < n_rows; ++r)
    if (running_sum[r] > 0.0f) Scale(out + r * hd, 1.0f / running_sum[r], hd);
}

}  // namespace

void DenseAttendOne(const KvCache& cache, size_t layer, size_t kv_head, const float* q,
                    size_t n_keys, float* out) {
  AttendRows(cache, layer, kv_head, q, 1, &n_keys, out);
}

void DenseAttention(const DenseAttentionArgs& a, ThreadContext* threads) {
  const size_t hd = a.cache->head_dim();
  const size_t kv_heads = a.cache->n_kv_heads();
  const size_t group = a.n_heads / kv_heads;
  const size_t sub = std::min(group, kMaxGroup);             // heads per work item
  const size_t chunks = (group + sub - 1) / sub;             // sub-groups per KV head
  const size_t block = std::max<size_t>(1, kMaxRows / sub);  // tokens per work item
  const size_t blocks = (a.n_tokens + block - 1) / block;
  const size_t row = a.n_heads * hd;
  auto work = [&](size_t begin, size_t end) {
    float q_rows[kMaxRows * kMaxBlockHeadDim], out_rows[kMaxRows * kMaxBlockHeadDim];
    size_t n_keys[kMaxRows];
    for (size_t i = begin; i < end; ++i) {
      const size_t b = i / (kv_heads * chunks), rest = i % (kv_heads * chunks);
      const size_t kv = rest / chunks, c = rest % chunks;
      const size_t h0 = kv * group + c * sub, n_q = std::min(sub, group - c * sub);
      const size_t t0 = b * block, nt = std::min(block, a.n_tokens - t0);
      if (nt == 1 || hd > kMaxBlockHeadDim) {  // one token (decode) or wide heads: rows in place
        for (size_t t = t0; t < t0 + nt; ++t) {
          for (size_t g = 0; g < n_q; ++g) n_keys[g] = a.first_pos + t + 1;
          AttendRows(*a.cache, a.layer, kv, a.q + t * row + h0 * hd, n_q, n_keys,
                     a.out + t * row + h0 * hd);
        }
        continue;
      }
      // Gather the block's query rows (token-major, then head), attend, scatter the outputs.
      for (size_t t = 0; t < nt; ++t) {
        for (size_t g = 0; g < n_q; ++g) {
          std::copy_n(a.q + (t0 + t) * row + (h0 + g) * hd, hd, q_rows + (t * n_q + g) * hd);
          n_keys[t * n_q + g] = a.first_pos + t0 + t + 1;
        }
      }
      AttendRows(*a.cache, a.layer, kv, q_rows, nt * n_q, n_keys, out_rows);
      for (size_t t = 0; t < nt; ++t)
        for (size_t g = 0; g < n_q; ++g)
          std::copy_n(out_rows + (t * n_q + g) * hd, hd, a.out + (t0 + t) * row + (h0 + g) * hd);
    }
  };
  const size_t n = blocks * kv_heads * chunks;
  if (threads)
    threads->ParallelFor(n, 1, work);
  else
    work(0, n);
}

}  // namespace floe
