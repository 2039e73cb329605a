// The arithmetic of the backend ops (backend_abi.h), one GPU thread's share of work per
// function, compiled both by nvcc (device code of libfloe_cuda.so, platform/gpu/cuda/) and by
// the host compiler (the CPU fake backend the tests load, tests/gpu/fake_backend.cc). So the
// tests check this arithmetic against the scalar references without a GPU, and a CUDA run only
// adds the launch and copy code. Every function is plain C++ callable from device code: no
// std::, no heap, no exceptions. Quantized blocks are platform/quant's structs (ggml layouts).
#pragma once

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "platform/gpu/backend_abi.h"
#include "platform/quant/quant.h"

#ifdef __CUDACC__
#define FLOE_GPU_FN __host__ __device__ inline
#else
#define FLOE_GPU_FN inline
#endif

namespace floe::gpu {

// DType numbers of the ABI (platform/base/dtype.h).
inline constexpr uint32_t kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ5_0 = 6, kQ8_0 = 8, kQ2_K = 10,
                          kQ3_K = 11, kQ4_K = 12, kQ6_K = 14, kBF16 = 30;

FLOE_GPU_FN float BitsToFloat(uint32_t b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}
FLOE_GPU_FN uint32_t FloatToBits(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}

// IEEE binary16 -> binary32 (exact; as platform/base/dtype.h's F16ToF32).
FLOE_GPU_FN float HalfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
  if (exp == 0) {
    if (mant == 0) return BitsToFloat(sign);
    exp = 127 - 15 + 1;
    while ((mant & 0x400u) == 0) {
      mant <<= 1;
      --exp;
    }
    return BitsToFloat(sign | (exp << 23) | ((mant & 0x3FFu) << 13));
  }
  if (exp == 0x1F) return BitsToFloat(sign | 0x7F800000u | (mant << 13));
  return BitsToFloat(sign | ((exp + 127 - 15) << 23) | (mant << 13));
}

// binary32 -> binary16, round to nearest even (as F32ToF16).
FLOE_GPU_FN uint16_t FloatToHalf(float f) {
  const uint32_t x = FloatToBits(f);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
  const uint32_t abs = x & 0x7FFFFFFFu;
  if (abs >= 0x7F800000u) return sign | 0x7C00u | (abs > 0x7F800000u ? 0x200u : 0u);
  if (abs >= 0x477FF000u) return sign | 0x7C00u;
  if (abs < 0x38800000u) {
    if (abs < 0x33000000u) return sign;
    const uint32_t e = abs >> 23, m = (abs & 0x7FFFFFu) | 0x800000u, shift = 126 - e;
    uint32_t h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return sign | uint16_t(h);
  }
  uint32_t h = (abs - 0x38000000u) >> 13;
  const uint32_t rem = abs & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return sign | uint16_t(h);
}

FLOE_GPU_FN float Bf16ToFloat(uint16_t b) { return BitsToFloat(uint32_t(b) << 16); }

// Bytes of one row of `cols` elements; 0 for a type the backend does not take.
FLOE_GPU_FN size_t RowBytes(uint32_t dtype, size_t cols) {
  switch (dtype) {
    case kF32: return cols * 4;
    case kF16:
    case kBF16: return cols * 2;
    case kQ4_0: return cols / 32 * sizeof(BlockQ4_0);
    case kQ5_0: return cols / 32 * sizeof(BlockQ5_0);
    case kQ8_0: return cols / 32 * sizeof(BlockQ8_0);
    case kQ2_K: return cols / 256 * sizeof(BlockQ2_K);
    case kQ3_K: return cols / 256 * sizeof(BlockQ3_K);
    case kQ4_K: return cols / 256 * sizeof(BlockQ4_K);
    case kQ6_K: return cols / 256 * sizeof(BlockQ6_K);
    default: return 0;
  }
}
// Elements per block of the weights (1 for plain types), and per activation block.
FLOE_GPU_FN size_t BlockElems(uint32_t dtype) {
  switch (dtype) {
    case kQ4_0:
    case kQ5_0:
    case kQ8_0: return 32;
    case kQ2_K:
    case kQ3_K:
    case kQ4_K:
    case kQ6_K: return 256;
    default: return 1;
  }
}
FLOE_GPU_FN bool IsQuantizedType(uint32_t dtype) { return BlockElems(dtype) > 1; }

// Q5_0's 5-bit code (0..31) of element j of a block (as quant.h's Q5_0Code).
FLOE_GPU_FN int Q5Code(const BlockQ5_0& b, int j) {
  const uint32_t qh = uint32_t(b.qh[0]) | uint32_t(b.qh[1]) << 8 | uint32_t(b.qh[2]) << 16 |
                      uint32_t(b.qh[3]) << 24;
  const int lo = j < 16 ? (b.qs[j] & 0xF) : (b.qs[j - 16] >> 4);
  return lo | int((qh >> j) & 1) << 4;
}

// Q3_K's scale (-32..31) of sub-block i (0..15), as quant.h's Q3KScales unpacks it.
FLOE_GPU_FN int Q3Scale(const uint8_t* s, int i) {
  int v;
  if (i < 4)
    v = (s[i] & 0xF) | (s[i + 8] & 3) << 4;
  else if (i < 8)
    v = (s[i] & 0xF) | ((s[i + 4] >> 2) & 3) << 4;
  else if (i < 12)
    v = (s[i - 8] >> 4) | ((s[i] >> 4) & 3) << 4;
  else
    v = (s[i - 8] >> 4) | ((s[i - 4] >> 6) & 3) << 4;
  return v - 32;
}

// Element c of a weight row, as DequantizeRow (platform/quant/quant.cc) computes it.
FLOE_GPU_FN float WeightElem(uint32_t dtype, const uint8_t* row, size_t c) {
  switch (dtype) {
    case kF32: return reinterpret_cast<const float*>(row)[c];
    case kF16: return HalfToFloat(reinterpret_cast<const uint16_t*>(row)[c]);
    case kBF16: return Bf16ToFloat(reinterpret_cast<const uint16_t*>(row)[c]);
    case kQ4_0: {
      const BlockQ4_0& b = reinterpret_cast<const BlockQ4_0*>(row)[c / 32];
      const int j = int(c % 32);
      const int q = j < 16 ? (b.qs[j] & 0x0F) : (b.qs[j - 16] >> 4);
      return float(q - 8) * HalfToFloat(b.d);
    }
    case kQ8_0: {
      const BlockQ8_0& b = reinterpret_cast<const BlockQ8_0*>(row)[c / 32];
      return float(b.qs[c % 32]) * HalfToFloat(b.d);
    }
    case kQ5_0: {
      const BlockQ5_0& b = reinterpret_cast<const BlockQ5_0*>(row)[c / 32];
      return float(Q5Code(b, int(c % 32)) - 16) * HalfToFloat(b.d);
    }
    case kQ2_K: {
      const BlockQ2_K& b = reinterpret_cast<const BlockQ2_K*>(row)[c / 256];
      const int e = int(c % 256), half = e / 128, r = e % 128, j = r / 32, l = r % 32;
      const int q = (b.qs[32 * half + l] >> (2 * j)) & 3;
      const uint8_t sc = b.scales[e / 16];
      return HalfToFloat(b.d) * float(sc & 0xF) * float(q) - HalfToFloat(b.dmin) * float(sc >> 4);
    }
    case kQ3_K: {
      const BlockQ3_K& b = reinterpret_cast<const BlockQ3_K*>(row)[c / 256];
      const int e = int(c % 256), half = e / 128, r = e % 128, j = r / 32, l = r % 32;
      const int q = (b.qs[32 * half + l] >> (2 * j)) & 3;
      const bool high = (b.hmask[l] >> (4 * half + j)) & 1;
      return HalfToFloat(b.d) * float(Q3Scale(b.scales, e / 16)) * float(q - (high ? 0 : 4));
    }
    case kQ4_K: {
      const BlockQ4_K& b = reinterpret_cast<const BlockQ4_K*>(row)[c / 256];
      const int e = int(c % 256), j = e / 64, l = e % 64, sub = 2 * j + (l >= 32 ? 1 : 0);
      const uint8_t byte = b.qs[32 * j + l % 32];
      const int q = l < 32 ? (byte & 0xF) : (byte >> 4);
      const uint8_t* s = b.scales;  // ggml's get_scale_min_k4
      const int sc = sub < 4 ? (s[sub] & 63) : ((s[sub + 4] & 0xF) | ((s[sub - 4] >> 6) << 4));
      const int m = sub < 4 ? (s[sub + 4] & 63) : ((s[sub + 4] >> 4) | ((s[sub] >> 6) << 4));
      const float d1 = HalfToFloat(b.d) * float(sc), m1 = HalfToFloat(b.dmin) * float(m);
      return d1 * float(q) - m1;
    }
    case kQ6_K: {
      const BlockQ6_K& b = reinterpret_cast<const BlockQ6_K*>(row)[c / 256];
      const int e = int(c % 256), half = e / 128, r = e % 128, which = r / 32, l = r % 32;
      const uint8_t* ql = b.ql + 64 * half;
      const uint8_t* qh = b.qh + 32 * half;
      const int8_t* sc = b.scales + 8 * half;
      const uint8_t lo = which & 1 ? ql[l + 32] : ql[l];
      const int q = ((which < 2 ? lo & 0xF : lo >> 4) | (((qh[l] >> (2 * which)) & 3) << 4)) - 32;
      return HalfToFloat(b.d) * float(sc[l / 16 + 2 * which]) * float(q);
    }
    default: return 0.0f;
  }
}

// Activation quantization of one block (QuantizeActivationBlocks / ...Q8K of quant.cc):
// Q8_0, 32 values -> 32 codes and 1 scale; Q8_K, 256 values -> 256 codes and the scale written
// for each of its 8 blocks of 32.
FLOE_GPU_FN int8_t ClampCode(float v) {
  const float r = rintf(v);  // round half to even, as std::nearbyint
  return int8_t(r < -127.0f ? -127 : r > 127.0f ? 127 : int(r));
}
FLOE_GPU_FN void QuantizeBlockQ8_0(const float* x, int8_t* q, float* d) {
  float amax = 0.0f;
  for (int j = 0; j < 32; ++j) amax = fmaxf(amax, fabsf(x[j]));
  const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
  *d = HalfToFloat(FloatToHalf(amax / 127.0f));
  for (int j = 0; j < 32; ++j) q[j] = ClampCode(x[j] * id);
}
FLOE_GPU_FN void QuantizeBlockQ8_K(const float* x, int8_t* q, float* d) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < 256; ++j) {
    if (fabsf(x[j]) > amax) {
      amax = fabsf(x[j]);
      max = x[j];
    }
  }
  const float iscale = amax != 0.0f ? -127.0f / max : 0.0f;
  for (int j = 0; j < 256; ++j) q[j] = ClampCode(iscale * x[j]);
  const float db = amax != 0.0f ? 1.0f / iscale : 0.0f;
  for (int k = 0; k < 8; ++k) d[k] = db;
}

// Elements 32u .. 32u+31 of a quantized row times the quantized activations (xq codes, xd one
// scale per 32), as QuantizedRowDotReference: Q4_0/Q5_0/Q8_0 an exact integer sum times both scales,
// K-quants each dequantized weight times its activation's scale and code.
FLOE_GPU_FN float QuantDot32(uint32_t dtype, const uint8_t* row, size_t u, const int8_t* xq,
                             const float* xd) {
  const int8_t* q = xq + 32 * u;
  if (dtype == kQ4_0) {
    const BlockQ4_0& b = reinterpret_cast<const BlockQ4_0*>(row)[u];
    int32_t s = 0;
    for (int j = 0; j < 16; ++j)
      s += ((b.qs[j] & 0xF) - 8) * q[j] + ((b.qs[j] >> 4) - 8) * q[j + 16];
    return HalfToFloat(b.d) * xd[u] * float(s);
  }
  if (dtype == kQ8_0) {
    const BlockQ8_0& b = reinterpret_cast<const BlockQ8_0*>(row)[u];
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) s += b.qs[j] * q[j];
    return HalfToFloat(b.d) * xd[u] * float(s);
  }
  if (dtype == kQ5_0) {
    const BlockQ5_0& b = reinterpret_cast<const BlockQ5_0*>(row)[u];
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) s += (Q5Code(b, j) - 16) * q[j];
    return HalfToFloat(b.d) * xd[u] * float(s);
  }
  float acc = 0.0f;
  for (int j = 0; j < 32; ++j) acc += WeightElem(dtype, row, 32 * u + j) * xd[u] * float(q[j]);
  return acc;
}

// llama2.c's RmsNorm: scale = 1 / sqrtf(mean(x^2) + eps), out = w * (x * scale).
FLOE_GPU_FN void RmsNormRow(const float* x, const float* w, size_t n, float eps, float* out) {
  float ss = 0.0f;
  for (size_t i = 0; i < n; ++i) ss += x[i] * x[i];
  const float scale = 1.0f / sqrtf(ss / float(n) + eps);
  for (size_t i = 0; i < n; ++i) out[i] = w[i] * (x[i] * scale);
}

// torch.nn.LayerNorm: biased variance, eps inside the square root.
FLOE_GPU_FN void LayerNormRow(const float* x, const float* w, const float* b, size_t n,
                              float eps, float* out) {
  float sum = 0.0f;
  for (size_t i = 0; i < n; ++i) sum += x[i];
  const float mean = sum / float(n);
  float var = 0.0f;
  for (size_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  const float inv = 1.0f / sqrtf(var / float(n) + eps);
  for (size_t i = 0; i < n; ++i) out[i] = (x[i] - mean) * inv * w[i] + b[i];
}

FLOE_GPU_FN void SoftmaxRow(float* x, size_t n) {
  float max = x[0];
  for (size_t i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  float sum = 0.0f;
  for (size_t i = 0; i < n; ++i) {
    x[i] = expf(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (size_t i = 0; i < n; ++i) x[i] *= inv;
}

// Rotates pair i of one head at position pos (llama2.c's angle: pos * 1 / base^(2i/rot_dim)).
FLOE_GPU_FN void RopePair(float* head, size_t i, size_t rot_dim, size_t pos, float freq_base,
                          int neox) {
  const float freq = 1.0f / powf(freq_base, float(2 * i) / float(rot_dim));
  const float angle = float(pos) * freq;
  const float c = cosf(angle), s = sinf(angle);
  const size_t a = neox ? i : 2 * i, b = neox ? i + rot_dim / 2 : 2 * i + 1;
  const float v0 = head[a], v1 = head[b];
  head[a] = v0 * c - v1 * s;
  head[b] = v0 * s + v1 * c;
}

FLOE_GPU_FN float KvElem(const floe_gpu_attention_args& a, const void* base, size_t s, size_t g,
                         size_t c) {
  const size_t i = (s * a.n_kv_heads + g) * a.head_dim + c;
  return a.kv_dtype == kF16 ? HalfToFloat(static_cast<const uint16_t*>(base)[i])
                            : static_cast<const float*>(base)[i];
}

// Query row t of head h: two passes over its visible keys (max, then exp-weighted sum).
FLOE_GPU_FN void AttentionQuery(const floe_gpu_attention_args& a, size_t t, size_t h) {
  const size_t hd = a.head_dim, g = h / (a.n_heads / a.n_kv_heads);
  const size_t n_vis = a.first_pos + t + 1;
  const float* q = a.q + (t * a.n_heads + h) * hd;
  float* out = a.out + (t * a.n_heads + h) * hd;
  float max = -INFINITY;
  for (size_t s = 0; s < n_vis; ++s) {
    float dot = 0.0f;
    for (size_t c = 0; c < hd; ++c) dot += q[c] * KvElem(a, a.k, s, g, c);
    max = fmaxf(max, a.scale * dot);
  }
  for (size_t c = 0; c < hd; ++c) out[c] = 0.0f;
  float sum = 0.0f;
  for (size_t s = 0; s < n_vis; ++s) {
    float dot = 0.0f;
    for (size_t c = 0; c < hd; ++c) dot += q[c] * KvElem(a, a.k, s, g, c);
    const float p = expf(a.scale * dot - max);
    sum += p;
    for (size_t c = 0; c < hd; ++c) out[c] += p * KvElem(a, a.v, s, g, c);
  }
  const float inv = 1.0f / sum;
  for (size_t c = 0; c < hd; ++c) out[c] *= inv;
}

// WKV-6 for value channel j of head h over all tokens: column j of the state evolves alone
// (y_t[j] = sum_i r_i (S[i][j] + u_i k_i v_j), S[i][j] = w_i S[i][j] + k_i v_j). The column
// lives in s_out (copied from s_in first).
FLOE_GPU_FN void Wkv6Column(const floe_gpu_wkv6_args& a, size_t h, size_t j) {
  const size_t N = a.n, C = a.n_heads * N, off = h * N;
  float* S = a.s_out + h * N * N;
  for (size_t i = 0; i < N; ++i) S[i * N + j] = a.s_in[h * N * N + i * N + j];
  for (size_t t = 0; t < a.n_tokens; ++t) {
    const float* r = a.r + t * C + off;
    const float* k = a.k + t * C + off;
    const float* lw = a.lw + t * C + off;
    const float vj = a.v[t * C + off + j];
    float y = 0.0f;
    for (size_t i = 0; i < N; ++i) {
      const float kv = k[i] * vj, s = S[i * N + j];
      y += r[i] * (s + a.u[off + i] * kv);
      S[i * N + j] = expf(lw[i]) * s + kv;
    }
    a.y[t * C + off + j] = y;
  }
}

// Lightning / TransNormer decayed linear attention for value channel j of head h:
// S[:, j] = lambda S[:, j] + k v_j, o_j = q . S[:, j]; the column lives in s_out.
FLOE_GPU_FN void LightningColumn(const floe_gpu_lightning_args& a, size_t h, size_t j) {
  const size_t dk = a.dk, dv = a.dv, ck = a.n_heads * dk, cv = a.n_heads * dv;
  const float lambda = expf(a.log_decay[h]);
  float* S = a.s_out + h * dk * dv;
  for (size_t i = 0; i < dk; ++i) S[i * dv + j] = a.s_in[h * dk * dv + i * dv + j];
  for (size_t t = 0; t < a.n_tokens; ++t) {
    const float* q = a.q + t * ck + h * dk;
    const float* k = a.k + t * ck + h * dk;
    const float vj = a.v[t * cv + h * dv + j];
    float o = 0.0f;
    for (size_t i = 0; i < dk; ++i) {
      const float s = lambda * S[i * dv + j] + k[i] * vj;
      S[i * dv + j] = s;
      o += q[i] * s;
    }
    a.o[t * cv + h * dv + j] = o;
  }
}

// The selective scan for channel d (Mamba, Algorithm 2 with ZOH): the state column d is
// updated in place.
FLOE_GPU_FN void ScanChannel(const floe_gpu_scan_args& a, size_t d) {
  const size_t D = a.d_inner, N = a.d_state;
  for (size_t t = 0; t < a.n_tokens; ++t) {
    const float dt = a.delta[t * D + d], u = a.u[t * D + d], dtu = dt * u;
    const float* B = a.B + t * N;
    const float* C = a.C + t * N;
    float y = 0.0f;
    for (size_t n = 0; n < N; ++n) {
      const float h = expf(dt * a.A[n * D + d]) * a.state[n * D + d] + dtu * B[n];
      a.state[n * D + d] = h;
      y += h * C[n];
    }
    if (a.D) y += a.D[d] * u;
    if (a.z) {
      const float z = a.z[t * D + d];
      y *= z / (1.0f + expf(-z));
    }
    a.y[t * D + d] = y;
  }
}

}  // namespace floe::gpu
