// Test helper: a plain scalar Llama / Qwen2 forward written from the equations (double
// accumulation, no floe kernels), over a GGUF's tensors and keys: norm weights, the RMSNorm
// epsilon and the RoPE base are read from the file. RoPE is unscaled unless the caller passes each
// pair's frequency and magnitude.
#pragma once

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "platform/kernels/ops.h"
#include "runtime/formats/gguf/gguf_reader.h"

namespace floe::testing {

inline std::vector<float> Weights(const GgufFile& f, const std::string& name, size_t* rows, size_t* cols) {
  auto v = f.GetTensorView(name);
  REQUIRE(v.ok());
  *rows = v->rows;
  *cols = v->cols;
  std::vector<float> out(v->rows * v->cols);
  ToF32(*v, 0, out.size(), out.data());
  return out;
}

inline std::vector<double> MatVecD(const std::vector<float>& w, size_t rows, size_t cols,
                            const std::vector<double>& x) {
  std::vector<double> y(rows, 0.0);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) y[r] += double(w[r * cols + c]) * x[c];
  return y;
}

inline std::vector<double> RmsNormD(const std::vector<double>& x, double eps,
                                    const std::vector<float>& weight) {
  double ss = 0.0;
  for (double v : x) ss += v * v;
  const double s = 1.0 / std::sqrt(ss / double(x.size()) + eps);
  std::vector<double> y(x.size());
  REQUIRE(weight.size() == x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * s * double(weight[i]);
  return y;
}

// RoPE: adjacent pairs (llama.cpp's "norm" rope, architecture llama) or the NeoX pairing
// (i, i + hd/2) of qwen2. Pair i turns by pos * inv_freq[i] and is scaled by mscale.
inline void RopeD(std::vector<double>& v, size_t heads, size_t hd, size_t pos, bool neox,
                  const std::vector<double>& inv_freq, double mscale) {
  for (size_t h = 0; h < heads; ++h)
    for (size_t i = 0; i < hd / 2; ++i) {
      const double a = double(pos) * inv_freq[i], c = std::cos(a), s = std::sin(a);
      double& x0 = v[h * hd + (neox ? i : 2 * i)];
      double& x1 = v[h * hd + (neox ? i + hd / 2 : 2 * i + 1)];
      const double r0 = mscale * (x0 * c - x1 * s), r1 = mscale * (x0 * s + x1 * c);
      x0 = r0;
      x1 = r1;
    }
}

// The rotation of each pair: unscaled RoPE with theta 10000 unless given.
struct RopeParamsD {
  std::vector<double> inv_freq;  // empty: base^(-2i/hd), base = the file's rope.freq_base
  double mscale = 1.0;
};

// x rounded to float32, then to IEEE binary16 (11 significant bits, round to nearest even;
// subnormals below 2^-14 in steps of 2^-24): what an f16 KV cache stores of a float32 value.
// Written from the format's definition, not with floe's conversion.
inline double RoundToF16D(double x) {
  const double f = double(float(x));
  if (f == 0.0 || !std::isfinite(f)) return f;
  if (std::fabs(f) < std::ldexp(1.0, -14)) return std::nearbyint(std::ldexp(f, 24)) / 16777216.0;
  int e = 0;
  const double m = std::frexp(f, &e);  // |m| in [0.5, 1): m * 2^11 holds the 11 significant bits
  return std::ldexp(std::nearbyint(std::ldexp(m, 11)), e - 11);
}

// Keys (after RoPE) and values stored as binary16, as in a session with an f16 KV cache: each
// element x becomes RoundToF16D(x * (1 + nudge)). A nudge of a few float32 ulps gives another
// admissible rounding (a float32 computation of x in another order lands that far away).
struct F16KvD {
  double nudge = 0.0;
};

// Logits for every position of `tokens`, from the GGUF's tensors; f16_kv: see F16KvD.
inline std::vector<float> ReferenceForward(const GgufFile& f, const std::vector<int32_t>& tokens,
                                           RopeParamsD rope = {},
                                           std::optional<F16KvD> f16_kv = std::nullopt) {
  auto arch = f.GetString("general.architecture");
  REQUIRE(arch.ok());
  const bool qwen2 = *arch == "qwen2";
  auto key = [&](const char* k) {
    auto v = f.GetUint(*arch + "." + std::string(k).substr(6));
    REQUIRE(v.ok());
    return size_t(v.value());
  };
  const size_t dim = key("llama.embedding_length"), layers = key("llama.block_count");
  const size_t heads = key("llama.attention.head_count"),
               kvh = key("llama.attention.head_count_kv");
  const size_t hd = dim / heads, group = heads / kvh;
  auto eps_key = f.GetFloat(*arch + ".attention.layer_norm_rms_epsilon");
  REQUIRE(eps_key.ok());
  const double eps = *eps_key;
  if (rope.inv_freq.empty()) {
    auto base = f.GetFloat(*arch + ".rope.freq_base");
    REQUIRE(base.ok());
    for (size_t i = 0; i < hd / 2; ++i)
      rope.inv_freq.push_back(std::pow(*base, -double(2 * i) / double(hd)));
  }
  REQUIRE(rope.inv_freq.size() == hd / 2);
  size_t r, c;
  const auto emb = Weights(f, "token_embd.weight", &r, &c);
  // No output.weight: the classifier is tied to the embedding (llama.cpp's rule).
  const bool tied = !f.GetTensorView("output.weight").ok();
  const auto out_w = Weights(f, tied ? "token_embd.weight" : "output.weight", &r, &c);
  const size_t vocab = r;
  size_t norm_rows = 0, norm_cols = 0;
  const auto out_norm = Weights(f, "output_norm.weight", &norm_rows, &norm_cols);
  std::vector<std::vector<std::vector<double>>> K(layers), Vv(layers);
  std::vector<float> logits;
  struct L {
    std::vector<float> q, k, v, o, g, u, d, bq, bk, bv, attn_norm, ffn_norm;
    size_t qr, kr, ff;
  };
  std::vector<L> ws(layers);
  for (size_t l = 0; l < layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    size_t rr, cc;
    ws[l].attn_norm = Weights(f, p + "attn_norm.weight", &rr, &cc);
    ws[l].ffn_norm = Weights(f, p + "ffn_norm.weight", &rr, &cc);
    ws[l].q = Weights(f, p + "attn_q.weight", &ws[l].qr, &cc);
    ws[l].k = Weights(f, p + "attn_k.weight", &ws[l].kr, &cc);
    ws[l].v = Weights(f, p + "attn_v.weight", &rr, &cc);
    ws[l].o = Weights(f, p + "attn_output.weight", &rr, &cc);
    ws[l].g = Weights(f, p + "ffn_gate.weight", &ws[l].ff, &cc);
    ws[l].u = Weights(f, p + "ffn_up.weight", &rr, &cc);
    ws[l].d = Weights(f, p + "ffn_down.weight", &rr, &cc);
    if (qwen2) {
      ws[l].bq = Weights(f, p + "attn_q.bias", &rr, &cc);
      ws[l].bk = Weights(f, p + "attn_k.bias", &rr, &cc);
      ws[l].bv = Weights(f, p + "attn_v.bias", &rr, &cc);
    }
  }
  for (size_t pos = 0; pos < tokens.size(); ++pos) {
    std::vector<double> x(dim);
    for (size_t i = 0; i < dim; ++i) x[i] = emb[size_t(tokens[pos]) * dim + i];
    for (size_t l = 0; l < layers; ++l) {
      const L& w = ws[l];
      auto xn = RmsNormD(x, eps, w.attn_norm);
      auto q = MatVecD(w.q, w.qr, dim, xn), k = MatVecD(w.k, w.kr, dim, xn),
           v = MatVecD(w.v, w.kr, dim, xn);
      if (qwen2) {
        for (size_t i = 0; i < q.size(); ++i) q[i] += w.bq[i];
        for (size_t i = 0; i < k.size(); ++i) k[i] += w.bk[i];
        for (size_t i = 0; i < v.size(); ++i) v[i] += w.bv[i];
      }
      RopeD(q, heads, hd, pos, qwen2, rope.inv_freq, rope.mscale);
      RopeD(k, kvh, hd, pos, qwen2, rope.inv_freq, rope.mscale);
      if (f16_kv) {
        for (double& e : k) e = RoundToF16D(e * (1.0 + f16_kv->nudge));
        for (double& e : v) e = RoundToF16D(e * (1.0 + f16_kv->nudge));
      }
      K[l].push_back(k);
      Vv[l].push_back(v);
      std::vector<double> att(dim, 0.0);
      for (size_t h = 0; h < heads; ++h) {
        const size_t g = h / group;
        std::vector<double> s(pos + 1);
        double m = -1e300;
        for (size_t t = 0; t <= pos; ++t) {
          double d = 0.0;
          for (size_t i = 0; i < hd; ++i) d += q[h * hd + i] * K[l][t][g * hd + i];
          s[t] = d / std::sqrt(double(hd));
          m = std::max(m, s[t]);
        }
        double z = 0.0;
        for (auto& e : s) z += (e = std::exp(e - m));
        for (size_t t = 0; t <= pos; ++t)
          for (size_t i = 0; i < hd; ++i) att[h * hd + i] += s[t] / z * Vv[l][t][g * hd + i];
      }
      const auto o = MatVecD(w.o, dim, dim, att);
      for (size_t i = 0; i < dim; ++i) x[i] += o[i];
      xn = RmsNormD(x, eps, w.ffn_norm);
      auto gate = MatVecD(w.g, w.ff, dim, xn);
      const auto up = MatVecD(w.u, w.ff, dim, xn);
      for (size_t i = 0; i < w.ff; ++i) gate[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
      const auto down = MatVecD(w.d, dim, w.ff, gate);
      for (size_t i = 0; i < dim; ++i) x[i] += down[i];
    }
    const auto lg = MatVecD(out_w, vocab, dim, RmsNormD(x, eps, out_norm));
    for (double v : lg) logits.push_back(float(v));
  }
  return logits;
}

}  // namespace floe::testing
