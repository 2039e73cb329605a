#include "attention/linear/wkv6.h"

#include <cmath>
#include <algorithm>
#include <cstring>

#include "platform/kernels/ops.h"

namespace floe {

void Wkv6Recurrent(const Wkv6Head& h, size_t T, float* scratch) {
  const size_t N = h.n;
  const float* s = h.s_in;
  for (size_t t = 0; t < T; ++t) {
    const float* r = h.r + t * h.stride;
    const float* k = h.k + t * h.stride;
    const float* v = h.v + t * h.stride;
    const float* lw = h.lw + t * h.stride;
    float* y = h.y + t * h.stride;
    // The last step writes s_out; earlier ones the scratch (in place is safe: row i of the new
    // state depends only on row i of the old one).
    float* out = t + 1 == T ? h.s_out : scratch;
    for (size_t j = 0; j < N; ++j) y[j] = 0.0f;
    for (size_t i = 0; i < N; ++i) {
      const float ri = r[i], ki = k[i], ui = h.u[i], wi = std::exp(lw[i]);
      const float* srow = s + i * N;
      float* orow = out + i * N;
      for (size_t j = 0; j < N; ++j) {
        const float kv = ki * v[j];
        y[j] += ri * (srow[j] + ui * kv);
        orow[j] = wi * srow[j] + kv;
      }
    }
    s = out;
  }
}

size_t Wkv6ChunkScratch(size_t T, size_t N) {
  const size_t n = 2 * N + T;  // running log decay D, a decayed vector, scores
  return (n + 15) / 16 * 16;   // keeps every head's slice 64-byte aligned
}

// Pairwise decays are accumulated backwards from the query, D = sum_{q=s+1}^{t-1} lw_q, a sum
// of same-sign terms in float: its relative error stays at a few ulp whatever the magnitude,
// where a difference of two cumulative sums would cancel catastrophically.
void Wkv6Chunk(const Wkv6Head& h, size_t T, float* scratch) {
  const size_t N = h.n;
  float* D = scratch;
  float* tmp = D + N;
  float* score = tmp + N;
  auto row = [&](const float* base, size_t t) { return base + t * h.stride; };
  for (size_t t = 0; t < T; ++t) {
    const float* r = row(h.r, t);
    float* y = h.y + t * h.stride;
    std::fill(D, D + N, 0.0f);
    for (size_t s = t; s-- > 0;) {  // earlier tokens of this chunk, nearest first
      score[s] = DecayedDot(r, row(h.k, s), D, N);
      Add(row(h.lw, s), D, N);
    }
    // D = A_{t-1}: the carried state, decayed to just before token t.
    ExpScale(r, D, tmp, N);
    std::fill(y, y + N, 0.0f);
    for (size_t i = 0; i < N; ++i) Axpy(tmp[i], h.s_in + i * N, y, N);
    const float* k = row(h.k, t);
    float bonus = 0.0f;
    for (size_t i = 0; i < N; ++i) bonus += r[i] * h.u[i] * k[i];
    score[t] = bonus;
    for (size_t s = 0; s <= t; ++s) Axpy(score[s], row(h.v, s), y, N);
  }
  // The state after the chunk: sum_s diag(exp(A_{T-1} - A_s)) k_s v_s^T + diag(exp(A_{T-1})) S_in.
  std::fill(h.s_out, h.s_out + N * N, 0.0f);
  std::fill(D, D + N, 0.0f);
  for (size_t s = T; s-- > 0;) {
    ExpScale(row(h.k, s), D, tmp, N);
    const float* v = row(h.v, s);
    for (size_t i = 0; i < N; ++i) Axpy(tmp[i], v, h.s_out + i * N, N);
    Add(row(h.lw, s), D, N);
  }
  for (size_t i = 0; i < N; ++i) Axpy(std::exp(D[i]), h.s_in + i * N, h.s_out + i * N, N);
}

}  // namespace floe
