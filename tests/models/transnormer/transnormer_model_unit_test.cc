// TransNormerLLM's Lightning prefill (chunked), recurrent decode (token by token) and a plain
// test-side forward pass with O(T^2) quadratic attention agree on whole random models, on
// prompts crossing many chunk boundaries (LRPE positions included); then state save ->
// restore -> continue, fork and cancellation. The kernel alone: lightning_attention_test.cc.
#include <algorithm>
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "models/transnormer/transnormer_model.h"
#include "models/transnormer/transnormer_random.h"

using namespace floe;

namespace {

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

float MaxAbs(const std::vector<float>& a) {
  float m = 0.0f;
  for (float v : a) m = std::max(m, std::fabs(v));
  return m;
}

// A plain forward pass of the official network over `ids` from position 0, with quadratic
// attention: all rows of logits. Reads the F32 tensors of `r` directly.
std::vector<float> NaiveModel(const RandomTransnormer& r, const std::vector<int32_t>& ids) {
  const TransnormerConfig& c = r.config;
  const size_t T = ids.size(), D = c.embed_dim, Hd = c.hidden_dim, H = c.n_heads, dh = c.head_dim(),
               G = c.glu_dim, V = c.vocab_size;
  auto W = [&](const std::string& name) {
    return reinterpret_cast<const float*>(r.tensors.Find(name)->data);
  };
  auto linear = [](const float* w, const std::vector<float>& x, size_t in, size_t out) {
    const size_t n = x.size() / in;
    std::vector<float> y(n * out);
    for (size_t t = 0; t < n; ++t)
      for (size_t o = 0; o < out; ++o) {
        double acc = 0.0;
        for (size_t i = 0; i < in; ++i) acc += double(w[o * in + i]) * x[t * in + i];
        y[t * out + o] = float(acc);
      }
    return y;
  };
  auto srms = [&](std::vector<float> x, size_t n) {
    for (size_t t = 0; t < x.size() / n; ++t) {
      double ss = 0.0;
      for (size_t i = 0; i < n; ++i) ss += double(x[t * n + i]) * x[t * n + i];
      const double inv = 1.0 / std::sqrt(ss / double(n) + 1e-6);
      for (size_t i = 0; i < n; ++i) x[t * n + i] = float(x[t * n + i] * inv);
    }
    return x;
  };
  auto act = [&](float v) {
    switch (c.act) {
      case TransnormerActivation::kSilu:
        return float(v / (1.0 + std::exp(-double(v))));
      case TransnormerActivation::kRelu:
        return v > 0 ? v : 0.0f;
      case TransnormerActivation::kSigmoid:
        return float(1.0 / (1.0 + std::exp(-double(v))));
      case TransnormerActivation::kOnePlusElu:
        return v > 0 ? 1 + v : float(std::exp(double(v)));
      case TransnormerActivation::kIdentity:
        return v;
    }
    return v;
  };
  std::vector<float> x(T * D);
  const float scale = c.scale_embedding ? std::sqrt(float(D)) : 1.0f;
  const float* embed = W("model.embed_tokens.weight");
  for (size_t t = 0; t < T; ++t)
    for (size_t i = 0; i < D; ++i) x[t * D + i] = embed[ids[t] * D + i] * scale;
  for (size_t l = 0; l < c.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const auto qkvu = linear(W(p + "token_mixer.qkvu_proj.weight"), srms(x, D), D, 4 * Hd);
    const size_t dk = c.lrpe[l] ? 2 * dh : dh;
    std::vector<float> q(T * H * dk), k(T * H * dk), o(T * Hd);
    const float* theta = c.lrpe[l] ? W(p + "token_mixer.lrpe.theta") : nullptr;
    for (size_t t = 0; t < T; ++t)
      for (size_t h = 0; h < H; ++h)
        for (size_t i = 0; i < dh; ++i) {
          const float qa = act(qkvu[t * 4 * Hd + h * dh + i]),
                      ka = act(qkvu[t * 4 * Hd + Hd + h * dh + i]);
          if (!c.lrpe[l]) {
            q[(t * H + h) * dk + i] = qa;
            k[(t * H + h) * dk + i] = ka;
            continue;
          }
          // The official angle is a float32 product (theta * float32 index).
          const double angle = theta[h * dh + i] * float(t);
          q[(t * H + h) * dk + i] = float(qa * std::cos(angle));
          q[(t * H + h) * dk + dh + i] = float(qa * std::sin(angle));
          k[(t * H + h) * dk + i] = float(ka * std::cos(angle));
          k[(t * H + h) * dk + dh + i] = float(ka * std::sin(angle));
        }
    for (size_t h = 0; h < H; ++h) {
      const double log_decay = -double(TransnormerDecayRate(c, l, h));
      std::vector<double> acc(dh);
      for (size_t t = 0; t < T; ++t) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (size_t s = 0; s <= t; ++s) {
          double qk = 0.0;
          for (size_t i = 0; i < dk; ++i)
            qk += double(q[(t * H + h) * dk + i]) * k[(s * H + h) * dk + i];
          const double w = std::exp(double(t - s) * log_decay) * qk;
          for (size_t j = 0; j < dh; ++j) acc[j] += w * qkvu[s * 4 * Hd + 2 * Hd + h * dh + j];
        }
        for (size_t j = 0; j < dh; ++j) o[t * Hd + h * dh + j] = float(acc[j]);
      }
    }
    o = srms(o, Hd);
    for (size_t t = 0; t < T; ++t)
      for (size_t i = 0; i < Hd; ++i) o[t * Hd + i] *= qkvu[t * 4 * Hd + 3 * Hd + i];
    const auto mixed = linear(W(p + "token_mixer.out_proj.weight"), o, Hd, D);
    for (size_t i = 0; i < x.size(); ++i) x[i] += mixed[i];
    const auto xn = srms(x, D);
    auto g1 = linear(W(p + "channel_mixer.l1.weight"), xn, D, G);
    const auto g2 = linear(W(p + "channel_mixer.l2.weight"), xn, D, G);
    for (size_t i = 0; i < g1.size(); ++i) g1[i] *= g2[i];
    const auto ffn = linear(W(p + "channel_mixer.l3.weight"), g1, G, D);
    for (size_t i = 0; i < x.size(); ++i) x[i] += ffn[i];
  }
  return linear(W(c.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight"),
                srms(x, D), D, V);
}

TransnormerConfig SmallConfig() {
  TransnormerConfig c;
  c.vocab_size = 300;
  c.embed_dim = 64;
  c.hidden_dim = 64;
  c.n_heads = 4;
  c.n_layers = 3;
  c.glu_dim = 96;
  c.lrpe = {true, false, true};
  c.tie_word_embeddings = false;
  return c;
}

struct Built {
  std::unique_ptr<RandomTransnormer> random;
  std::unique_ptr<TransnormerModel> lm;
};

Built Build(const TransnormerConfig& c, uint64_t seed, DType dtype = DType::kF32) {
  auto r = MakeRandomTransnormer(c, seed, dtype);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  auto net = BindTransnormer(c, (*r)->tensors);
  INFO(net.status().ToString());
  REQUIRE(net.ok());
  auto lm = TransnormerModel::Create(std::move(net).value());
  REQUIRE(lm.ok());
  return {std::move(r).value(), std::move(lm).value()};
}

std::vector<int32_t> Prompt(size_t n, size_t vocab, uint64_t seed) {
  std::vector<int32_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = int32_t((i * 7919 + seed * 31) % vocab);
  return ids;
}

// All logits of `ids` in chunks of `batch` (batch 0: one Forward call per token).
std::vector<float> Logits(const CausalLm& lm, const std::vector<int32_t>& ids, size_t batch) {
  ThreadContext threads(2);
  StateOptions o;
  o.max_batch = batch ? batch : 1;
  auto st = lm.NewState(o);
  REQUIRE(st.ok());
  const size_t V = lm.vocab_size();
  std::vector<float> out(ids.size() * V);
  if (batch == 0) {
    for (size_t i = 0; i < ids.size(); ++i)
      REQUIRE(lm.Forward(**st, std::span<const int32_t>(&ids[i], 1), LogitsMode::kLast,
                         out.data() + i * V, threads, nullptr)
                  .ok());
  } else {
    REQUIRE(lm.Forward(**st, ids, LogitsMode::kAll, out.data(), threads, nullptr).ok());
  }
  return out;
}

}  // namespace

TEST_CASE("TransNormerLLM Lightning prefill == recurrent decode == quadratic reference (models)",
          "[unit]") {
  struct Variant {
    const char* what;
    TransnormerConfig config;
  };
  std::vector<Variant> variants;
  variants.push_back({"lrpe 1,0,1 silu", SmallConfig()});
  TransnormerConfig six = SmallConfig();  // 6 heads: the non-power-of-two slope rule
  six.embed_dim = six.hidden_dim = 96;
  six.n_heads = 6;
  six.lrpe = {false, true, false};
  six.act = TransnormerActivation::kOnePlusElu;
  six.tie_word_embeddings = true;
  variants.push_back({"6 heads, 1+elu, tied", six});
  TransnormerConfig wide = SmallConfig();  // hidden_dim != embed_dim (no LRPE then)
  wide.hidden_dim = 128;
  wide.lrpe = {false, false, false};
  wide.act = TransnormerActivation::kIdentity;
  wide.scale_embedding = false;
  variants.push_back({"hidden 128, identity, unscaled embedding", wide});
  for (const Variant& v : variants) {
    INFO(v.what);
    const Built b = Build(v.config, 7);
    const auto ids = Prompt(333, v.config.vocab_size, 3);
    const auto naive = NaiveModel(*b.random, ids);
    REQUIRE(MaxAbs(naive) > 0.5f);  // a model whose logits are all ~0 would prove nothing
    const auto rec = Logits(*b.lm, ids, 0);
    CHECK(MaxAbsDiff(rec, naive) <= 1e-5f);
    for (size_t batch : {3, 16, 64, 300}) {  // 300: Lightning blocks of 256 + 44 inside a chunk
      INFO("chunk size " << batch);
      const auto chunked = Logits(*b.lm, ids, batch);
      CHECK(MaxAbsDiff(chunked, rec) <= 1e-5f);
      CHECK(MaxAbsDiff(chunked, naive) <= 1e-5f);
    }
  }
}

TEST_CASE("TransNormerLLM F16 weights: chunked == token by token", "[unit]") {
  const Built b = Build(SmallConfig(), 11, DType::kF16);
  const auto ids = Prompt(200, 300, 5);
  const auto rec = Logits(*b.lm, ids, 0);
  REQUIRE(MaxAbs(rec) > 0.5f);
  for (size_t batch : {7, 64}) CHECK(MaxAbsDiff(Logits(*b.lm, ids, batch), rec) <= 1e-5f);
}

TEST_CASE("TransNormerLLM state save -> restore -> continue, fork and cancel are exact", "[unit]") {
  const Built b = Build(SmallConfig(), 5);
  const CausalLm& lm = *b.lm;
  const auto ids = Prompt(150, 300, 9);
  const std::span<const int32_t> a(ids.data(), 100), rest(ids.data() + 100, 50);
  ThreadContext threads(2);
  StateOptions o;
  o.max_batch = 16;
  const size_t V = lm.vocab_size();
  std::vector<float> want(50 * V), got(50 * V);
  auto whole = std::move(lm.NewState(o)).value();
  REQUIRE(lm.Forward(*whole, a, LogitsMode::kNone, nullptr, threads, nullptr).ok());
  std::vector<uint8_t> saved;
  REQUIRE(whole->Save(&saved).ok());
  auto fork = whole->Clone();
  REQUIRE(fork.ok());
  REQUIRE(lm.Forward(*whole, rest, LogitsMode::kAll, want.data(), threads, nullptr).ok());

  auto restored = std::move(lm.NewState(o)).value();
  REQUIRE(restored->Restore(saved).ok());
  CHECK(restored->position() == 100);
  REQUIRE(lm.Forward(*restored, rest, LogitsMode::kAll, got.data(), threads, nullptr).ok());
  CHECK(got == want);  // positions (LRPE) and state continue exactly
  REQUIRE(lm.Forward(**fork, rest, LogitsMode::kAll, got.data(), threads, nullptr).ok());
  CHECK(got == want);

  // The state does not grow with the tokens read.
  std::vector<uint8_t> later;
  REQUIRE(whole->Save(&later).ok());
  CHECK(later.size() == saved.size());

  // Damaged or foreign states are rejected and leave the state as it was.
  std::vector<uint8_t> cut(saved.begin(), saved.end() - 3);
  CHECK(restored->Restore(cut).code() == StatusCode::kInvalidArgument);
  CHECK(restored->position() == 150);
  TransnormerConfig other = SmallConfig();
  other.lrpe = {false, false, true};
  const Built ob = Build(other, 5);
  auto foreign = std::move(ob.lm->NewState(o)).value();
  CHECK(foreign->Restore(saved).code() == StatusCode::kInvalidArgument);

  // Cancelled before the first layer: position and state unchanged, the rerun is identical.
  auto c = std::move(lm.NewState(o)).value();
  REQUIRE(lm.Forward(*c, a, LogitsMode::kNone, nullptr, threads, nullptr).ok());
  std::atomic<bool> cancel{true};
  CHECK(lm.Forward(*c, rest, LogitsMode::kAll, got.data(), threads, &cancel).code() ==
        StatusCode::kCancelled);
  CHECK(c->position() == 100);
  REQUIRE(lm.Forward(*c, rest, LogitsMode::kAll, got.data(), threads, nullptr).ok());
  CHECK(got == want);
}
