#include "platform/kernels/reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "platform/base/dtype.h"
#include "platform/quant/quant.h"

namespace floe::reference {

float WeightAt(const TensorView& w, size_t r, size_t c) {
  const size_t i = r * w.cols + c;
  if (IsQuantized(w.dtype)) {  // dequantize the block holding element i
    const size_t block = DTypeBlockElems(w.dtype);
    float values[256];
    ToF32(w, i / block * block, block, values);  // row-panel types too
    return values[i % block];
  }
  switch (w.dtype) {
    case DType::kF32:
      return static_cast<const float*>(w.data)[i];
    case DType::kF16:
      return F16ToF32(static_cast<const uint16_t*>(w.data)[i]);
    case DType::kBF16:
      return BF16ToF32(static_cast<const uint16_t*>(w.data)[i]);
    default:
      break;
  }
  return 0.0f;
}

void MatVec(const TensorView& w, const float* x, float* y, ThreadContext* /*tc*/) {
  // A quantized row is dequantized once (WeightAt per element would decode its block again
  // for every element); the values are the same.
  std::vector<float> row(IsQuantized(w.dtype) ? w.cols : 0);
  for (size_t r = 0; r < w.rows; ++r) {
    if (!row.empty()) ToF32(w, r * w.cols, w.cols, row.data());
    double sum = 0.0;
    for (size_t c = 0; c < w.cols; ++c) {
      const float wc = row.empty() ? WeightAt(w, r, c) : row[c];
      sum += double(wc) * double(x[c]);
    }
    y[r] = static_cast<float>(sum);
  }
}

void MatMul(const TensorView& w, const float* x, size_t n_tokens, float* y, ThreadContext* tc) {
  for (size_t t = 0; t < n_tokens; ++t) MatVec(w, x + t * w.cols, y + t * w.rows, tc);
}

void RmsNorm(const float* x, const float* weight, size_t n, float eps, float* out) {
  double ss = 0.0;
  for (size_t i = 0; i < n; ++i) ss += double(x[i]) * double(x[i]);
  const double scale = 1.0 / std::sqrt(ss / double(n) + double(eps));
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(double(weight[i]) * double(x[i]) * scale);
}

void Softmax(float* x, size_t n) {
  float max = x[0];
  for (size_t i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += std::exp(double(x[i]) - double(max));
  for (size_t i = 0; i < n; ++i)
    x[i] = static_cast<float>(std::exp(double(x[i]) - double(max)) / sum);
}

namespace {
// llama2.c's angle for pair i: pos * (1.0f / powf(base, 2i / (float)rot_dim)), all in float.
void RopeCosSin(size_t i, size_t rot_dim, size_t pos, float freq_base, float* c, float* s) {
  const float freq =
      1.0f / std::pow(freq_base, static_cast<float>(2 * i) / static_cast<float>(rot_dim));
  const float angle = static_cast<float>(pos) * freq;
  *c = std::cos(angle);
  *s = std::sin(angle);
}
}  // namespace

void RopeInterleaved(float* x, size_t n_heads, size_t head_dim, size_t rot_dim, size_t pos,
                     float freq_base) {
  for (size_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    for (size_t i = 0; i < rot_dim / 2; ++i) {
      float c, s;
      RopeCosSin(i, rot_dim, pos, freq_base, &c, &s);
      const float v0 = v[2 * i], v1 = v[2 * i + 1];
      v[2 * i] = v0 * c - v1 * s;
      v[2 * i + 1] = v0 * s + v1 * c;
    }
  }
}

void RopeHalfSplit(float* x, size_t n_heads, size_t head_dim, size_t rot_dim, size_t pos,
                   float freq_base) {
  const size_t half = rot_dim / 2;
  for (size_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    for (size_t i = 0; i < half; ++i) {
      float c, s;
      RopeCosSin(i, rot_dim, pos, freq_base, &c, &s);
      const float v0 = v[i], v1 = v[i + half];
      v[i] = v0 * c - v1 * s;
      v[i + half] = v0 * s + v1 * c;
    }
  }
}

void RopeInterleavedCosSin(float* x, size_t n_heads, size_t head_dim, size_t rot_dim,
                           const float* cos, const float* sin) {
  for (size_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    for (size_t i = 0; i < rot_dim / 2; ++i) {
      const float v0 = v[2 * i], v1 = v[2 * i + 1];
      v[2 * i] = v0 * cos[i] - v1 * sin[i];
      v[2 * i + 1] = v0 * sin[i] + v1 * cos[i];
    }
  }
}

void RopeHalfSplitCosSin(float* x, size_t n_heads, size_t head_dim, size_t rot_dim,
                         const float* cos, const float* sin) {
  const size_t half = rot_dim / 2;
  for (size_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    for (size_t i = 0; i < half; ++i) {
      const float v0 = v[i], v1 = v[i + half];
      v[i] = v0 * cos[i] - v1 * sin[i];
      v[i + half] = v0 * sin[i] + v1 * cos[i];
    }
  }
}

void Silu(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    x[i] = static_cast<float>(double(x[i]) / (1.0 + std::exp(-double(x[i]))));
}

void SwiGlu(float* gate, const float* up, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const double g = gate[i];
    gate[i] = static_cast<float>(g / (1.0 + std::exp(-g)) * double(up[i]));
  }
}

size_t Argmax(const float* x, size_t n) {
  size_t best = 0;
  for (size_t i = 1; i < n; ++i) {
    if (x[i] > x[best]) best = i;
  }
  return best;
}

float Dot(const float* a, const float* b, size_t n) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += double(a[i]) * double(b[i]);
  return static_cast<float>(sum);
}

float DotF16(const float* a, const uint16_t* b_f16, size_t n) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += double(a[i]) * double(F16ToF32(b_f16[i]));
  return static_cast<float>(sum);
}

void Axpy(float alpha, const float* x, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i)
    y[i] = static_cast<float>(double(y[i]) + double(alpha) * double(x[i]));
}

void AxpyF16(float alpha, const uint16_t* x_f16, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    y[i] = static_cast<float>(double(y[i]) + double(alpha) * double(F16ToF32(x_f16[i])));
  }
}

void Scale(float* x, float s, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] *= s;
}

void Add(const float* a, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] += a[i];
}

float DecayedDot(const float* a, const float* b, const float* log_decay, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) s += double(a[i]) * b[i] * std::exp(double(log_decay[i]));
  return float(s);
}

namespace {
float RowElem(const void* base, DType dt, size_t i) {
  return dt == DType::kF16 ? F16ToF32(static_cast<const uint16_t*>(base)[i])
                           : static_cast<const float*>(base)[i];
}
}  // namespace

void AttentionScores(const float* q, size_t n_q, size_t head_dim, const void* keys, size_t stride,
                     DType dtype, size_t n, float scale, float* scores) {
  for (size_t g = 0; g < n_q; ++g)
    for (size_t i = 0; i < n; ++i) {
      double s = 0.0;
      for (size_t c = 0; c < head_dim; ++c)
        s += double(q[g * head_dim + c]) * RowElem(keys, dtype, i * stride + c);
      scores[g * n + i] = float(s * scale);
    }
}

void AttentionScoresGather(const float* q, size_t head_dim, const void* keys, size_t stride,
                           DType dtype, const uint32_t* rows, size_t n, float scale,
                           float* scores) {
  for (size_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (size_t c = 0; c < head_dim; ++c)
      s += double(q[c]) * RowElem(keys, dtype, size_t(rows[i]) * stride + c);
    scores[i] = float(s * scale);
  }
}

void AttentionScoresGather16(const float* qt, size_t head_dim, const void* keys, size_t stride,
                             DType dtype, const uint32_t* rows, size_t n, float scale, float* out) {
  for (size_t i = 0; i < n; ++i)
    for (size_t g = 0; g < 16; ++g) {
      double s = 0.0;
      for (size_t c = 0; c < head_dim; ++c)
        s += double(qt[c * 16 + g]) * RowElem(keys, dtype, size_t(rows[i]) * stride + c);
      out[i * 16 + g] = float(s * scale);
    }
}

void AttentionAccumulate(const float* p, size_t n_q, size_t head_dim, const void* values,
                         size_t stride, DType dtype, size_t n, float* out) {
  for (size_t g = 0; g < n_q; ++g)
    for (size_t c = 0; c < head_dim; ++c) {
      double s = out[g * head_dim + c];
      for (size_t i = 0; i < n; ++i)
        s += double(p[g * n + i]) * RowElem(values, dtype, i * stride + c);
      out[g * head_dim + c] = float(s);
    }
}

float SoftmaxTile(float* s, size_t n, size_t visible, float* running_max) {
  float m = *running_max;
  for (size_t i = 0; i < visible; ++i) m = std::max(m, s[i]);
  *running_max = m;
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    s[i] = i < visible ? float(std::exp(double(s[i]) - double(m))) : 0.0f;
    sum += s[i];
  }
  return float(sum);
}

void ExpScale(const float* x, const float* log_decay, float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) out[i] = float(double(x[i]) * std::exp(double(log_decay[i])));
}

namespace {

// The run scan of search.h, record by record; `at(i)` is the i-th record in scan order and
// `dist(v)` its signed distance past the target in the scan's direction.
template <class At, class Dist>
RunCollected CollectRun(At at, Dist dist, size_t n, float tau, uint32_t lo, uint32_t span,
                        size_t max_out, uint32_t* out) {
  RunCollected r;
  while (r.consumed < n && r.written < max_out) {
    const ValueId& e = at(r.consumed);
    if (!(dist(e.value) <= tau)) break;
    ++r.consumed;
    if (uint64_t(e.id) >= lo && uint64_t(e.id) <= uint64_t(lo) + span) out[r.written++] = e.id;
  }
  return r;
}

}  // namespace

RunCollected CollectRunForward(const ValueId* r, size_t n, float target, float tau, uint32_t lo,
                               uint32_t span, size_t max_out, uint32_t* out) {
  return CollectRun([&](size_t i) -> const ValueId& { return r[i]; },
                    [&](float v) { return v - target; }, n, tau, lo, span, max_out, out);
}

RunCollected CollectRunBackward(const ValueId* end, size_t n, float target, float tau, uint32_t lo,
                                uint32_t span, size_t max_out, uint32_t* out) {
  return CollectRun([&](size_t i) -> const ValueId& { return *(end - 1 - i); },
                    [&](float v) { return target - v; }, n, tau, lo, span, max_out, out);
}

size_t FindStampedInAll(const uint32_t* ids, size_t n, uint32_t lo, const uint8_t* const* maps,
                        size_t n_maps, uint8_t stamp, uint32_t* hits) {
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    bool all = true;
    for (size_t t = 0; t < n_maps; ++t)
      if (maps[t][ids[i] - lo] != stamp) all = false;
    if (all) hits[count++] = uint32_t(i);
  }
  return count;
}

size_t LaneGroupMaxima16(const float* scores, const uint32_t* ids, size_t n, const uint32_t* lim,
                         size_t per, float* maxima) {
  constexpr size_t L = kSelectLanes;
  size_t groups = 0;
  for (size_t i0 = 0; i0 < n; i0 += per, ++groups)
    for (size_t g = 0; g < L; ++g) {
      float m = -std::numeric_limits<float>::infinity();
      for (size_t i = i0; i < std::min(n, i0 + per); ++i)
        if (ids[i] < lim[g] && m < scores[i * L + g]) m = scores[i * L + g];
      maxima[groups * L + g] = m;
    }
  return groups;
}

void LaneOffers16(const float* scores, const uint32_t* ids, size_t n, const uint32_t* lim,
                  const float* cut, uint16_t* masks, size_t* admitted) {
  constexpr size_t L = kSelectLanes;
  for (size_t i = 0; i < n; ++i) {
    masks[i] = 0;
    for (size_t g = 0; g < L; ++g) {
      if (!(ids[i] < lim[g])) continue;
      ++admitted[g];
      if (!(scores[i * L + g] < cut[g])) masks[i] = uint16_t(masks[i] | 1u << g);
    }
  }
}

void RowDistances16(const float* x, const float* blocks, const float* sq, size_t dim,
                    size_t n_blocks, double* dist) {
  constexpr size_t L = kRowBlock;
  for (size_t b = 0; b < n_blocks; ++b)
    for (size_t g = 0; g < L; ++g) {
      double dot = 0.0;
      for (size_t c = 0; c < dim; ++c) dot += double(x[c]) * double(blocks[(b * dim + c) * L + g]);
      dist[b * L + g] = double(sq[b * L + g]) - 2.0 * dot;
    }
}

void LayerNorm(const float* x, const float* w, const float* b, size_t n, float eps, float* out) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += x[i];
  const double mean = sum / double(n);
  double sq = 0.0;
  for (size_t i = 0; i < n; ++i) sq += (double(x[i]) - mean) * (double(x[i]) - mean);
  const double inv = 1.0 / std::sqrt(sq / double(n) + double(eps));
  for (size_t i = 0; i < n; ++i) out[i] = float((double(x[i]) - mean) * inv) * w[i] + b[i];
}

void GeluErf(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i)
    x[i] = float(0.5 * double(x[i]) * (1.0 + std::erf(double(x[i]) / std::sqrt(2.0))));
}

}  // namespace floe::reference
