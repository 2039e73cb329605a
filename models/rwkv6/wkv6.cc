#include "models/rwkv6/wkv6.h"

#include <cmath>
#include <cstring>

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
  // cumulative logs (double, T x N) + decayed r (N) + decay row (N) + scores (T).
  const size_t n = 2 * T * N + 2 * N + T;
  return (n + 15) / 16 * 16;  // keeps every head's slice 64-byte aligned (the doubles need 8)
}

void Wkv6Chunk(const Wkv6Head& h, size_t T, float* scratch) {
  const size_t N = h.n;
  double* A = reinterpret_cast<double*>(scratch);  // A[t*N + i]
  float* rd = scratch + 2 * T * N;
  float* dec = rd + N;
  float* score = dec + N;
  for (size_t i = 0; i < N; ++i) {
    double acc = 0.0;
    for (size_t t = 0; t < T; ++t) {
      acc += double(h.lw[t * h.stride + i]);
      A[t * N + i] = acc;
    }
  }
  for (size_t t = 0; t < T; ++t) {
    const float* r = h.r + t * h.stride;
    float* y = h.y + t * h.stride;
    const double* prev = t ? A + (t - 1) * N : nullptr;  // A_{t-1}; null = 0
    // Inter-chunk part: the carried state, decayed to just before token t.
    for (size_t i = 0; i < N; ++i) rd[i] = r[i] * (prev ? float(std::exp(prev[i])) : 1.0f);
    for (size_t j = 0; j < N; ++j) y[j] = 0.0f;
    for (size_t i = 0; i < N; ++i) {
      const float a = rd[i];
      const float* srow = h.s_in + i * N;
      for (size_t j = 0; j < N; ++j) y[j] += a * srow[j];
    }
    // Intra-chunk part: earlier tokens of this chunk, and the bonus for token t itself.
    for (size_t s = 0; s < t; ++s) {
      const float* k = h.k + s * h.stride;
      const double* as = A + s * N;
      float acc = 0.0f;
      for (size_t i = 0; i < N; ++i) acc += r[i] * k[i] * std::exp(float(prev[i] - as[i]));
      score[s] = acc;
    }
    {
      const float* k = h.k + t * h.stride;
      float acc = 0.0f;
      for (size_t i = 0; i < N; ++i) acc += r[i] * h.u[i] * k[i];
      score[t] = acc;
    }
    for (size_t s = 0; s <= t; ++s) {
      const float a = score[s];
      const float* v = h.v + s * h.stride;
      for (size_t j = 0; j < N; ++j) y[j] += a * v[j];
    }
  }
  // The state after the chunk.
  const double* last = A + (T - 1) * N;
  for (size_t i = 0; i < N; ++i) {
    const float d = float(std::exp(last[i]));
    const float* srow = h.s_in + i * N;
    float* orow = h.s_out + i * N;
    for (size_t j = 0; j < N; ++j) orow[j] = d * srow[j];
  }
  for (size_t s = 0; s < T; ++s) {
    const float* k = h.k + s * h.stride;
    const float* v = h.v + s * h.stride;
    const double* as = A + s * N;
    for (size_t i = 0; i < N; ++i) dec[i] = k[i] * std::exp(float(last[i] - as[i]));
    for (size_t i = 0; i < N; ++i) {
      const float a = dec[i];
      float* orow = h.s_out + i * N;
      for (size_t j = 0; j < N; ++j) orow[j] += a * v[j];
    }
  }
}

}  // namespace floe
