// The Llama forward on make-model GGUFs against a plain scalar reference forward written here
// from the Llama equations (double accumulation, no floe kernels): F32 must match closely; the
// quantized types within their quantization error (the reference uses the dequantized weights).
#include <cmath>
#include <filesystem>

#include <catch2/catch.hpp>

#include "platform/kernels/ops.h"

#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/tools/make_model.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

using namespace floe;

namespace {

std::vector<float> Weights(const GgufFile& f, const std::string& name, size_t* rows, size_t* cols) {
  auto v = f.GetTensorView(name);
  REQUIRE(v.ok());
  *rows = v->rows;
  *cols = v->cols;
  std::vector<float> out(v->rows * v->cols);
  ToF32(*v, 0, out.size(), out.data());
  return out;
}

std::vector<double> MatVecD(const std::vector<float>& w, size_t rows, size_t cols,
                            const std::vector<double>& x) {
  std::vector<double> y(rows, 0.0);
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) y[r] += double(w[r * cols + c]) * x[c];
  return y;
}

std::vector<double> RmsNormD(const std::vector<double>& x, double eps) {
  double ss = 0.0;
  for (double v : x) ss += v * v;
  const double s = 1.0 / std::sqrt(ss / double(x.size()) + eps);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * s;  // norm weights are 1 in make-model files
  return y;
}

// RoPE, theta 10000: adjacent pairs (llama.cpp's "norm" rope, architecture llama) or the
// NeoX pairing (i, i + hd/2) of qwen2.
void RopeD(std::vector<double>& v, size_t heads, size_t hd, size_t pos, bool neox) {
  for (size_t h = 0; h < heads; ++h)
    for (size_t i = 0; i < hd / 2; ++i) {
      const double freq = std::pow(10000.0, -double(2 * i) / double(hd));
      const double a = double(pos) * freq, c = std::cos(a), s = std::sin(a);
      double& x0 = v[h * hd + (neox ? i : 2 * i)];
      double& x1 = v[h * hd + (neox ? i + hd / 2 : 2 * i + 1)];
      const double r0 = x0 * c - x1 * s, r1 = x0 * s + x1 * c;
      x0 = r0;
      x1 = r1;
    }
}

// Logits for every position of `tokens`, from the GGUF's tensors.
std::vector<float> ReferenceForward(const GgufFile& f, const std::vector<int32_t>& tokens) {
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
  size_t r, c;
  const auto emb = Weights(f, "token_embd.weight", &r, &c);
  const auto out_w = Weights(f, "output.weight", &r, &c);
  const size_t vocab = r;
  std::vector<std::vector<std::vector<double>>> K(layers), Vv(layers);
  std::vector<float> logits;
  struct L {
    std::vector<float> q, k, v, o, g, u, d, bq, bk, bv;
    size_t qr, kr, ff;
  };
  std::vector<L> ws(layers);
  for (size_t l = 0; l < layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    size_t rr, cc;
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
      auto xn = RmsNormD(x, 1e-5);
      auto q = MatVecD(w.q, w.qr, dim, xn), k = MatVecD(w.k, w.kr, dim, xn),
           v = MatVecD(w.v, w.kr, dim, xn);
      if (qwen2) {
        for (size_t i = 0; i < q.size(); ++i) q[i] += w.bq[i];
        for (size_t i = 0; i < k.size(); ++i) k[i] += w.bk[i];
        for (size_t i = 0; i < v.size(); ++i) v[i] += w.bv[i];
      }
      RopeD(q, heads, hd, pos, qwen2);
      RopeD(k, kvh, hd, pos, qwen2);
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
      xn = RmsNormD(x, 1e-5);
      auto gate = MatVecD(w.g, w.ff, dim, xn);
      const auto up = MatVecD(w.u, w.ff, dim, xn);
      for (size_t i = 0; i < w.ff; ++i) gate[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
      const auto down = MatVecD(w.d, dim, w.ff, gate);
      for (size_t i = 0; i < dim; ++i) x[i] += down[i];
    }
    const auto lg = MatVecD(out_w, vocab, dim, RmsNormD(x, 1e-5));
    for (double v : lg) logits.push_back(float(v));
  }
  return logits;
}

}  // namespace

TEST_CASE("make-model GGUFs: our forward vs a scalar reference forward", "[model]") {
  // 40 tokens: a one-chunk prefill of more than 16 tokens (float panels or 8-bit tiles for
  // quantized weights, see MatMul); decode (batch 1) the 8-bit activation path.
  std::vector<int32_t> tokens = {1, 400, 3021, 77, 15999, 259, 31999, 5, 1234, 42, 9000, 600};
  while (tokens.size() < 40) tokens.push_back(int32_t((tokens.size() * 7919) % 32000));
  const auto dir = std::filesystem::temp_directory_path();
  struct Case {
    const char* arch;
    DType type;
  };
  for (Case cs :
       {Case{"llama", DType::kF32}, Case{"llama", DType::kF16}, Case{"llama", DType::kQ8_0},
        Case{"llama", DType::kQ4_0}, Case{"qwen2", DType::kF32}, Case{"qwen2", DType::kQ8_0}}) {
    const DType type = cs.type;
    INFO(cs.arch << " " << DTypeName(type));
    MakeModelOptions o;
    o.arch = cs.arch;
    o.preset = "tiny";
    o.type = type;
    o.seed = 3;
    o.output_path = (dir / ("floe-ref-" + std::string(cs.arch) + DTypeName(type) + "-" +
                            std::to_string(::getpid()) + ".gguf"))
                        .string();
    REQUIRE(MakeModelGguf(o).ok());
    auto file = GgufFile::Open(o.output_path);
    REQUIRE(file.ok());
    const auto ref = ReferenceForward(*file, tokens);
    auto model = Model::Load(o.output_path);
    REQUIRE(model.ok());
    CHECK((*model)->architecture() == cs.arch);
    float scale = 0.0f;
    for (float v : ref) scale = std::max(scale, std::fabs(v));
    REQUIRE(scale > 0.1f);
    // Prefill (one chunk, matrix-matrix) and decode (one token at a time, matrix-vector).
    for (size_t batch : {64, 1}) {
      INFO("batch " << batch);
      SessionParams p;
      p.batch = batch;
      auto s = Session::Create(**model, p);
      REQUIRE(s.ok());
      REQUIRE((*s)->Eval(tokens, true).ok());
      const auto& got = (*s)->all_logits();
      REQUIRE(got.size() == ref.size());
      float diff = 0.0f;
      for (size_t i = 0; i < got.size(); ++i) diff = std::max(diff, std::fabs(got[i] - ref[i]));
      INFO("max abs diff " << diff << ", logits up to " << scale);
      // F32/F16 weights are used exactly (F16 widened); quantized weights meet 8-bit activations
      // in decode (batch 1) and, on CPUs with fast 8-bit products, in a prefill chunk of
      // 40 tokens too (else float activations).
      const bool quant_decode =
          IsQuantized(type) && (batch == 1 || MatMulQuantizesActivations(type, tokens.size()));
      CHECK(diff <= (quant_decode ? 0.02f * scale : 1e-4f * std::max(1.0f, scale)));
    }
    std::filesystem::remove(o.output_path);
  }
}

TEST_CASE("make-model --context sets the trained context and leaves the weights alone", "[model]") {
  const auto dir = std::filesystem::temp_directory_path();
  const std::vector<int32_t> tokens = {1, 400, 3021, 77, 15999, 259};
  std::vector<float> logits[2];
  for (size_t context : {size_t(0), size_t(65536)}) {
    MakeModelOptions o;
    o.preset = "tiny";
    o.seed = 5;
    o.context_length = context;
    o.output_path =
        (dir / ("floe-ctx-" + std::to_string(context) + "-" + std::to_string(::getpid()) + ".gguf"))
            .string();
    REQUIRE(MakeModelGguf(o).ok());
    auto model = Model::Load(o.output_path);
    REQUIRE(model.ok());
    CHECK((*model)->lm().context_length() == (context == 0 ? 32768u : context));
    auto s = Session::Create(**model, SessionParams());
    REQUIRE(s.ok());
    REQUIRE((*s)->Eval(tokens, true).ok());
    logits[context != 0] = (*s)->all_logits();
    std::filesystem::remove(o.output_path);
  }
  REQUIRE(!logits[0].empty());
  CHECK(logits[0] == logits[1]);  // the same weights (rope depends on positions, not the context)
  MakeModelOptions bad;
  bad.output_path = (dir / "floe-ctx-bad.gguf").string();
  bad.context_length = size_t(1) << 30;
  const Status st = MakeModelGguf(bad);
  CHECK(st.code() == StatusCode::kInvalidArgument);
  CHECK(st.message().find("context length") != std::string::npos);
}
