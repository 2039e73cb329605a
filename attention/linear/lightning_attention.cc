#include "attention/linear/lightning_attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "platform/kernels/ops.h"

namespace floe {

void LightningRecurrent(const LightningHead& h, size_t T) {
  const size_t dk = h.dk, dv = h.dv;
  // S + (lambda - 1) S rather than lambda S: for the slowest heads (rate ~1e-8) lambda rounds
  // to 1 - 2^-24 in float, and lambda * S then rounds down by a whole ulp at every step, a
  // bias that compounds over thousands of tokens. expm1 keeps the decrement exact and the
  // only rounding is that of the final sum.
  const float lambda_m1 = std::expm1(h.log_decay);
  const float* s = h.s_in;
  for (size_t t = 0; t < T; ++t) {
    const float* q = h.q + t * h.q_stride;
    const float* k = h.k + t * h.k_stride;
    const float* v = h.v + t * h.v_stride;
    float* o = h.o + t * h.o_stride;
    std::memset(o, 0, dv * sizeof(float));
    for (size_t i = 0; i < dk; ++i) {
      const float* in = s + i * dv;
      float* row = h.s_out + i * dv;
      for (size_t j = 0; j < dv; ++j)
        row[j] = in[j] + (lambda_m1 * in[j] + k[i] * v[j]);  // in may == row
      Axpy(q[i], row, o, dv);
    }
    s = h.s_out;  // later tokens update the output state in place
  }
  if (T == 0) std::memcpy(h.s_out, h.s_in, dk * dv * sizeof(float));
}

void LightningBlock(const LightningHead& h, size_t T, float* scratch) {
  const size_t dk = h.dk, dv = h.dv;
  float* decay = scratch;  // decay[j] = lambda^j, j in [0, T]
  for (size_t j = 0; j <= T; ++j) decay[j] = std::exp(float(j) * h.log_decay);
  for (size_t t = 0; t < T; ++t) {
    const float* q = h.q + t * h.q_stride;
    float* o = h.o + t * h.o_stride;
    // Inter-block: lambda^(t+1) q_t S_in.
    std::memset(o, 0, dv * sizeof(float));
    for (size_t i = 0; i < dk; ++i)
      if (q[i] != 0.0f) Axpy(q[i], h.s_in + i * dv, o, dv);
    Scale(o, decay[t + 1], dv);
    // Intra-block: row t of [(Q K^T) . M] V with M_ts = lambda^(t-s), s <= t.
    for (size_t s = 0; s <= t; ++s) {
      const float score = Dot(q, h.k + s * h.k_stride, dk) * decay[t - s];
      Axpy(score, h.v + s * h.v_stride, o, dv);
    }
  }
  // State: lambda^T S_in + sum_s lambda^(T-1-s) k_s^T v_s, row by row (key channel i),
  // accumulated as S_in + ((lambda^T - 1) S_in + sum_s ...) for the reason given in
  // LightningRecurrent: a rounded lambda^T would bias slow heads once per block.
  const float block_m1 = std::expm1(float(T) * h.log_decay);
  for (size_t i = 0; i < dk; ++i) {
    float* row = h.s_out + i * dv;
    const float* in = h.s_in + i * dv;
    for (size_t j = 0; j < dv; ++j) row[j] = block_m1 * in[j];
    for (size_t s = 0; s < T; ++s) {
      const float w = h.k[s * h.k_stride + i] * decay[T - 1 - s];
      if (w != 0.0f) Axpy(w, h.v + s * h.v_stride, row, dv);
    }
    Add(in, row, dv);
  }
}

void LightningChunk(const LightningHead& h, size_t T, float* scratch) {
  const size_t blocks = (T + kLightningMaxBlock - 1) / kLightningMaxBlock;
  if (blocks <= 1) return LightningBlock(h, T, scratch);
  float* spare = scratch + LightningBlockScratch(kLightningMaxBlock);  // dk x dv
  // Block b writes s_out when an even number of blocks follow it, else `spare`, so no block
  // reads and writes the same buffer and the last one ends in s_out.
  const float* in = h.s_in;
  for (size_t b = 0; b < blocks; ++b) {
    const size_t t0 = b * kLightningMaxBlock, n = std::min(kLightningMaxBlock, T - t0);
    LightningHead part = h;
    part.q += t0 * h.q_stride;
    part.k += t0 * h.k_stride;
    part.v += t0 * h.v_stride;
    part.o += t0 * h.o_stride;
    part.s_in = in;
    part.s_out = (blocks - 1 - b) % 2 == 0 ? h.s_out : spare;
    LightningBlock(part, n, scratch);
    in = part.s_out;
  }
}

}  // namespace floe
