// Reference quantization of the K-quants (Q4_K, Q5_K, Q6_K) with llama.cpp's rounding, so that
// `floe quantize` writes the bytes llama-quantize writes without an importance matrix
// (quantize_row_q{4,5,6}_K_ref in ggml/src/ggml-quants.c, llama.cpp c392e50).
//
// The searches below are the published algorithms re-derived step by step: every float
// operation keeps llama.cpp's order of evaluation, because the searches compare float sums and a
// different rounding of one sum can pick another scale for a sub-block. The bytes are checked
// against llama-quantize's own files in tests/models/llama/llamacpp_quant_test.cc.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "platform/quant/quant.h"

namespace floe {
namespace {

// Round to nearest, ties to even, by adding 1.5 x 2^23 in float: the sum's low 23 mantissa bits
// hold the integer (offset by 2^22). Exact for |v| <= 2^22 - 1, as llama.cpp's nearest_int; any
// other float (NaN, huge: hostile weights) gives some int without undefined behaviour.
inline int NearestInt(float v) {
  const float biased = v + 12582912.0f;
  int32_t bits;
  std::memcpy(&bits, &biased, sizeof(bits));
  return (bits & 0x007fffff) - 0x00400000;
}

// Asymmetric codes 0..nmax for n values with a per-value weight w: x ~ scale * L + min, min <= 0.
// Starts from the min/max grid, then tries nstep + 1 grids of nmax + rmin + rdelta * is steps
// over [min, max]; for each, the weighted least-squares scale and min of the resulting codes
// (min clamped to <= 0), kept when its weighted squared error is smaller. Returns the scale and
// stores -min (>= 0) in *neg_min. (make_qkx2_quants with use_mad = false.)
float SearchScaleMin(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min,
                     float rmin, float rdelta, int nstep) {
  float min = x[0], max = x[0];
  float sum_w = w[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    std::fill(L, L + n, uint8_t(0));
    *neg_min = -min;
    return 0.0f;
  }
  float iscale = float(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_err = 0;
  for (int i = 0; i < n; ++i) {
    const int l = NearestInt(iscale * (x[i] - min));
    L[i] = uint8_t(std::max(0, std::min(nmax, l)));
    float diff = scale * float(L[i]) + min - x[i];
    diff = diff * diff;
    best_err += w[i] * diff;
  }
  uint8_t trial[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * float(is) + float(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::max(0, std::min(nmax, NearestInt(iscale * (x[i] - min))));
      trial[i] = uint8_t(l);
      const float fl = float(l);
      sum_l += w[i] * fl;
      sum_l2 += w[i] * fl * fl;
      sum_xl += w[i] * fl * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float err = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * float(trial[i]) + this_min - x[i];
        diff = diff * diff;
        err += w[i] * diff;
      }
      if (err < best_err) {
        std::copy(trial, trial + n, L);
        best_err = err;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *neg_min = -min;
  return scale;
}

// Symmetric codes -nmax..nmax-1 for 16 values, weighted by x^2: the first grid puts the value of
// largest magnitude at -nmax; 18 more grids (nmax + 0.1 is, is = -9..9, is != 0) are tried and the
// one maximising (sum w x l)^2 / (sum w l^2) is kept. Returns the least-squares scale; L holds
// l + nmax. (make_qx_quants with rmse_type 1 and no importance weights.)
float SearchSymmetricScale(int n, int nmax, const float* x, int8_t* L) {
  const float max = SignedAbsMax(x, n);
  if (std::fabs(max) < 1e-15f) {
    std::fill(L, L + n, int8_t(0));
    return 0.0f;
  }
  auto code = [nmax](float v) { return std::max(-nmax, std::min(nmax - 1, NearestInt(v))); };
  float iscale = -float(nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = code(iscale * x[i]);
    L[i] = int8_t(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * float(l);
    suml2 += w * float(l) * float(l);
  }
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(float(nmax) + 0.1f * float(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = code(iscale * x[i]);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * float(l);
      suml2 += w * float(l) * float(l);
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = int8_t(code(iscale * x[i]) + nmax);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Q4_K / Q5_K share everything but the code range and the search grid: eight sub-blocks of 32
// get a scale and a min each (SearchScaleMin, weighted by rms(x) + |x|), both stored as 6-bit
// multiples of the super-block's f16 d and dmin (Q4KScaleMin's packing), then every value is
// re-coded against the stored (rounded) scale and min.
void QuantizeSuperBlockAffine(const float* x, int nmax, float rmin, int nstep, uint16_t* d_out,
                              uint16_t* dmin_out, uint8_t* scales_out, uint8_t* L) {
  float scales[8], mins[8];
  float w[32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) w[l] = av_x + std::fabs(xs[l]);
    scales[j] = SearchScaleMin(32, nmax, xs, w, L + 32 * j, &mins[j], rmin, 0.1f, nstep);
    if (scales[j] > max_scale) max_scale = scales[j];
    if (mins[j] > max_min) max_min = mins[j];
  }
  const float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
  const float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
  for (int j = 0; j < 8; ++j) {
    // llama.cpp stores nearest_int into a uint8_t before clamping to 63 (wraps mod 256).
    const uint8_t ls = std::min<uint8_t>(63, uint8_t(NearestInt(inv_scale * scales[j])));
    const uint8_t lm = std::min<uint8_t>(63, uint8_t(NearestInt(inv_min * mins[j])));
    if (j < 4) {
      scales_out[j] = ls;
      scales_out[j + 4] = lm;
    } else {
      scales_out[j + 4] = uint8_t((ls & 0xF) | ((lm & 0xF) << 4));
      scales_out[j - 4] |= uint8_t((ls >> 4) << 6);
      scales_out[j] |= uint8_t((lm >> 4) << 6);
    }
  }
  *d_out = F32ToF16(max_scale / 63.0f);
  *dmin_out = F32ToF16(max_min / 63.0f);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    Q4KScaleMin(scales_out, j, &sc, &m);
    const float d = F16ToF32(*d_out) * float(sc);
    if (d == 0) continue;  // the codes of the search stay
    const float dm = F16ToF32(*dmin_out) * float(m);
    for (int l = 0; l < 32; ++l) {
      const int q = NearestInt((x[32 * j + l] + dm) / d);
      L[32 * j + l] = uint8_t(std::max(0, std::min(nmax, q)));
    }
  }
}

}  // namespace

void QuantizeRowQ4_K(const float* x, size_t n, BlockQ4_K* out) {
  uint8_t L[256];
  for (size_t i = 0; i < n / 256; ++i, x += 256) {
    BlockQ4_K& b = out[i];
    QuantizeSuperBlockAffine(x, 15, -1.0f, 20, &b.d, &b.dmin, b.scales, L);
    // Sub-blocks 2k and 2k+1 share 32 bytes: low nibble from the first, high from the second.
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l)
        b.qs[32 * k + l] = uint8_t(L[64 * k + l] | (L[64 * k + 32 + l] << 4));
  }
}

void QuantizeRowQ5_K(const float* x, size_t n, BlockQ5_K* out) {
  uint8_t L[256];
  for (size_t i = 0; i < n / 256; ++i, x += 256) {
    BlockQ5_K& b = out[i];
    QuantizeSuperBlockAffine(x, 31, -0.5f, 15, &b.d, &b.dmin, b.scales, L);
    // As Q4_K for the low nibbles; bit j of qh[l] is the fifth bit of element l of sub-block j.
    std::memset(b.qh, 0, sizeof(b.qh));
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l) {
        const int lo = L[64 * k + l], hi = L[64 * k + 32 + l];
        b.qs[32 * k + l] = uint8_t((lo & 0xF) | ((hi & 0xF) << 4));
        b.qh[l] |= uint8_t(((lo >> 4) << (2 * k)) | ((hi >> 4) << (2 * k + 1)));
      }
  }
}

void QuantizeRowQ6_K(const float* x, size_t n, BlockQ6_K* out) {
  int8_t L[256];
  float scales[16];
  for (size_t i = 0; i < n / 256; ++i, x += 256) {
    BlockQ6_K& b = out[i];
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < 16; ++ib) {
      scales[ib] = SearchSymmetricScale(16, 32, x + 16 * ib, L + 16 * ib);
      if (std::fabs(scales[ib]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[ib]);
        max_scale = scales[ib];
      }
    }
    if (max_abs_scale < 1e-15f) {
      std::memset(&b, 0, sizeof(b));
      continue;
    }
    // The 8-bit sub-block scales are multiples of d = max_scale / -128 (the largest maps to -128).
    const float iscale = -128.0f / max_scale;
    b.d = F32ToF16(1 / iscale);
    for (int ib = 0; ib < 16; ++ib)
      b.scales[ib] = int8_t(std::min(127, NearestInt(iscale * scales[ib])));
    for (int j = 0; j < 16; ++j) {
      const float d = F16ToF32(b.d) * float(b.scales[j]);
      if (d == 0) continue;
      for (int l = 0; l < 16; ++l) {
        const int q = std::max(-32, std::min(31, NearestInt(x[16 * j + l] / d)));
        L[16 * j + l] = int8_t(q + 32);
      }
    }
    PackQ6KCodes(reinterpret_cast<const uint8_t*>(L), &b);
  }
}

// Each half h of 128 values: element l of the four quarters m = 0..3 keeps its low nibble in
// ql[64 h + 32 (m % 2) + l] (m >= 2: the high nibble) and its two high bits at 2m of qh[32 h + l].
void Q6KBlockCodes(const BlockQ6_K& b, uint8_t* codes) {
  for (size_t e = 0; e < 256; ++e) {
    const size_t h = e / 128, m = (e % 128) / 32, l = e % 32;
    const uint8_t ql = b.ql[64 * h + 32 * (m % 2) + l];
    codes[e] = uint8_t((m < 2 ? ql & 15 : ql >> 4) | ((b.qh[32 * h + l] >> (2 * m)) & 3) << 4);
  }
}
void PackQ6KCodes(const uint8_t* codes, BlockQ6_K* b) {
  std::memset(b->ql, 0, sizeof b->ql);
  std::memset(b->qh, 0, sizeof b->qh);
  for (size_t e = 0; e < 256; ++e) {
    const size_t h = e / 128, m = (e % 128) / 32, l = e % 32;
    b->ql[64 * h + 32 * (m % 2) + l] |= uint8_t(m < 2 ? codes[e] & 15 : (codes[e] & 15) << 4);
    b->qh[32 * h + l] |= uint8_t((codes[e] >> 4) << (2 * m));
  }
}

}  // namespace floe
