// Mamba on random models (models/mamba/mamba_random.h): chunked prefill equals token-by-token
// decode across many chunk boundaries, save -> restore -> continue and clone give the
// uninterrupted run, the GGUF layout round-trips, and the config reading follows MambaConfig.
#include <cmath>
#include <vector>

#include <catch2/catch.hpp>

#include "models/mamba/mamba_architecture.h"
#include "models/mamba/mamba_gguf.h"
#include "models/mamba/mamba_model.h"
#include "models/mamba/mamba_random.h"
#include "platform/base/model_collector.h"
#include "runtime/formats/checkpoint/json_metadata.h"

using namespace floe;

namespace {

MambaConfig Small() {
  MambaConfig c;
  c.vocab_size = 96;
  c.d_model = 32;
  c.n_layer = 3;
  c.d_inner = 64;
  c.d_state = 8;
  c.d_conv = 4;
  c.dt_rank = 2;
  c.tie_embeddings = false;
  return c;
}

struct Fixture {
  std::unique_ptr<RandomMamba> random;
  std::unique_ptr<MambaModel> model;
};

Fixture Build(const MambaConfig& c, uint64_t seed, DType type = DType::kF32) {
  Fixture f;
  auto r = MakeRandomMamba(c, seed, type);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  f.random = std::move(r).value();
  auto net = BindMamba(c, f.random->tensors, MambaAForm::kALog);
  INFO(net.status().ToString());
  REQUIRE(net.ok());
  auto m = MambaModel::Create(std::move(net).value());
  REQUIRE(m.ok());
  f.model = std::move(m).value();
  return f;
}

std::vector<int32_t> Tokens(size_t n, size_t vocab, uint32_t seed) {
  std::vector<int32_t> t(n);
  uint32_t x = seed;
  for (auto& e : t) {
    x = x * 1664525u + 1013904223u;
    e = int32_t((x >> 8) % vocab);
  }
  return t;
}

// All logits of `tokens` fed in chunks of `batch` (one Forward call).
std::vector<float> RunChunked(const CausalLm& lm, const std::vector<int32_t>& tokens,
                              size_t batch) {
  ThreadContext threads(2);
  StateOptions o;
  o.max_batch = batch;
  auto s = lm.NewState(o);
  REQUIRE(s.ok());
  std::vector<float> logits(tokens.size() * lm.vocab_size());
  REQUIRE(lm.Forward(**s, tokens, LogitsMode::kAll, logits.data(), threads, nullptr).ok());
  CHECK((*s)->position() == tokens.size());
  return logits;
}

std::vector<float> RunStepwise(const CausalLm& lm, const std::vector<int32_t>& tokens) {
  ThreadContext threads(1);
  auto s = lm.NewState({});
  REQUIRE(s.ok());
  const size_t V = lm.vocab_size();
  std::vector<float> logits(tokens.size() * V);
  for (size_t i = 0; i < tokens.size(); ++i)
    REQUIRE(lm.Forward(**s, std::span<const int32_t>(&tokens[i], 1), LogitsMode::kLast,
                       logits.data() + i * V, threads, nullptr)
                .ok());
  return logits;
}

float MaxAbs(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("Mamba chunked prefill equals token-by-token decode", "[unit]") {
  MambaConfig c = Small();
  c.d_model = 64, c.d_inner = 128, c.d_state = 16, c.dt_rank = 4;
  const Fixture f = Build(c, 5);
  const auto tokens = Tokens(300, c.vocab_size, 9);
  const auto step = RunStepwise(*f.model, tokens);
  for (float v : step) REQUIRE(std::isfinite(v));
  for (size_t batch : {2, 7, 16, 64, 300}) {
    INFO("chunk " << batch);
    CHECK(MaxAbs(RunChunked(*f.model, tokens, batch), step) <= 1e-5f);
  }
}

TEST_CASE("Mamba save -> restore -> continue and clone equal the uninterrupted run", "[unit]") {
  const MambaConfig c = Small();
  const Fixture f = Build(c, 2);
  const auto tokens = Tokens(40, c.vocab_size, 4);
  const auto whole = RunChunked(*f.model, tokens, 8);
  const size_t V = c.vocab_size, cut = 23;
  ThreadContext threads(1);
  StateOptions o;
  o.max_batch = 8;
  auto s = f.model->NewState(o);
  REQUIRE(s.ok());
  std::vector<float> first(cut * V);
  REQUIRE(f.model
              ->Forward(**s, std::span<const int32_t>(tokens.data(), cut), LogitsMode::kAll,
                        first.data(), threads, nullptr)
              .ok());
  std::vector<uint8_t> saved;
  REQUIRE((*s)->Save(&saved).ok());
  auto clone = (*s)->Clone();
  REQUIRE(clone.ok());
  // Run the original further, then restore it to the saved point.
  std::vector<float> junk(5 * V);
  REQUIRE(f.model
              ->Forward(**s, std::span<const int32_t>(tokens.data(), 5), LogitsMode::kAll,
                        junk.data(), threads, nullptr)
              .ok());
  auto fresh = f.model->NewState(o);
  REQUIRE(fresh.ok());
  REQUIRE((*fresh)->Restore(saved).ok());
  REQUIRE((*s)->Restore(saved).ok());
  const std::span<const int32_t> rest(tokens.data() + cut, tokens.size() - cut);
  for (SequenceState* st : {s->get(), fresh->get(), clone->get()}) {
    CHECK(st->position() == cut);
    std::vector<float> tail(rest.size() * V);
    REQUIRE(f.model->Forward(*st, rest, LogitsMode::kAll, tail.data(), threads, nullptr).ok());
    CHECK(std::equal(tail.begin(), tail.end(), whole.begin() + cut * V));
  }
  // Truncated, trailing bytes, another shape: rejected, state unchanged.
  std::vector<uint8_t> bad(saved.begin(), saved.end() - 1);
  CHECK((*fresh)->Restore(bad).code() == StatusCode::kInvalidArgument);
  bad = saved;
  bad.push_back(0);
  CHECK((*fresh)->Restore(bad).code() == StatusCode::kInvalidArgument);
  MambaConfig other = c;
  other.d_state = 4;
  const Fixture g = Build(other, 2);
  auto gs = g.model->NewState(o);
  REQUIRE(gs.ok());
  CHECK((*gs)->Restore(saved).code() == StatusCode::kInvalidArgument);
  CHECK((*fresh)->position() == tokens.size());
}

TEST_CASE("Mamba GGUF layout round-trips, tied and untied, f32 and f16", "[unit]") {
  for (bool tied : {false, true}) {
    for (DType type : {DType::kF32, DType::kF16}) {
      INFO("tied " << tied << " type " << DTypeName(type));
      MambaConfig c = Small();
      c.tie_embeddings = tied;
      const Fixture f = Build(c, 3, type);
      ModelCollector out("collector");
      REQUIRE(WriteMambaGguf(c, f.model->weights(), out).ok());
      const TensorSet& set = out.tensors();
      CHECK((set.Find("output.weight") == nullptr) == tied);
      const NamedTensor* conv = set.Find("blk.0.ssm_conv1d.weight");
      REQUIRE(conv != nullptr);
      CHECK(conv->shape == std::vector<uint64_t>{64, 4});
      const NamedTensor* a = set.Find("blk.2.ssm_a");
      REQUIRE(a != nullptr);
      CHECK(a->shape == std::vector<uint64_t>{64, 8});
      CHECK(reinterpret_cast<const float*>(a->data)[1] == -2.0f);  // -exp(log 2)
      auto net = MambaFromGguf(out.metadata(), set);
      INFO(net.status().ToString());
      REQUIRE(net.ok());
      CHECK(net->config.tie_embeddings == tied);
      auto back = MambaModel::Create(std::move(net).value());
      REQUIRE(back.ok());
      const auto tokens = Tokens(20, c.vocab_size, 1);
      CHECK(MaxAbs(RunChunked(**back, tokens, 6), RunChunked(*f.model, tokens, 6)) == 0.0f);
    }
  }
}

TEST_CASE("Mamba random models of every weight type run and stay finite", "[unit]") {
  MambaConfig c = Small();
  c.d_model = 64, c.d_inner = 128;
  const auto tokens = Tokens(50, c.vocab_size, 3);
  const Fixture ref = Build(c, 7, DType::kF32);
  const auto expect = RunChunked(*ref.model, tokens, 16);
  for (DType type : {DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0}) {
    INFO(DTypeName(type));
    const Fixture f = Build(c, 7, type);
    const auto got = RunChunked(*f.model, tokens, 16);
    for (float v : got) REQUIRE(std::isfinite(v));
    CHECK(MaxAbs(got, expect) < 0.5f);  // the same model, quantized
  }
}

TEST_CASE("Mamba presets have the released shapes", "[unit]") {
  auto m130 = MambaPresetShape("130m");
  REQUIRE(m130.ok());
  CHECK(m130->d_model == 768);
  CHECK(m130->n_layer == 24);
  CHECK(m130->d_inner == 1536);
  CHECK(m130->dt_rank == 48);
  CHECK(m130->vocab_size == 50288);
  auto m28 = MambaPresetShape("2.8b");
  REQUIRE(m28.ok());
  CHECK(m28->d_model == 2560);
  CHECK(m28->n_layer == 64);
  CHECK(m28->dt_rank == 160);
  CHECK(MambaPresetShape("7b").status().code() == StatusCode::kInvalidArgument);
  for (const ModelPreset& p : MambaArchitecture().presets) {
    auto shape = MambaPresetShape(p.name);
    REQUIRE(shape.ok());
    CHECK(shape->Validate().ok());
    CHECK(shape->vocab_size == p.vocab_size);
    CHECK(shape->vocab_size % 8 == 0);
  }
}

TEST_CASE("Mamba config.json: defaults, padding, dt_rank auto", "[unit]") {
  auto json = JsonMetadata::Parse(
      R"({"d_model": 768, "n_layer": 24, "vocab_size": 50277, "ssm_cfg": {}, "rms_norm": true,
          "residual_in_fp32": true, "fused_add_norm": true, "pad_vocab_size_multiple": 8})");
  REQUIRE(json.ok());
  auto c = MambaConfigFromHfConfig(*json);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  CHECK(c->vocab_size == 50280);
  CHECK(c->d_inner == 1536);
  CHECK(c->d_state == 16);
  CHECK(c->d_conv == 4);
  CHECK(c->dt_rank == 48);
  CHECK(c->tie_embeddings);
  auto explicit_rank = JsonMetadata::Parse(
      R"({"d_model": 64, "n_layer": 2, "vocab_size": 10, "ssm_cfg": {"dt_rank": 7, "d_state": 4,
          "d_conv": 3, "expand": 3}, "tie_embeddings": false})");
  REQUIRE(explicit_rank.ok());
  auto e = MambaConfigFromHfConfig(*explicit_rank);
  REQUIRE(e.ok());
  CHECK(e->dt_rank == 7);
  CHECK(e->d_state == 4);
  CHECK(e->d_conv == 3);
  CHECK(e->d_inner == 192);
  CHECK(e->vocab_size == 16);
  CHECK_FALSE(e->tie_embeddings);
  CHECK(e->state_floats_per_layer() == 192 * (2 + 4));
}
