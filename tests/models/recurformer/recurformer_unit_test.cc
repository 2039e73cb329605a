// RecurFormer on the random `tiny` preset (layers with KV heads {1}, {}, {0, 3}, {0, 1, 2, 3}
// replaced): chunked prefill against token by token, save/restore/fork, the KV cache holding
// only the kept heads, and bad files. Parity with the float64 reference is parity.sh.
#include <cmath>
#include <functional>
#include <span>
#include <vector>

#include <catch2/catch.hpp>

#include "models/recurformer/recurformer_architecture.h"
#include "models/recurformer/recurformer_gguf.h"
#include "models/recurformer/recurformer_model.h"
#include "platform/base/model_collector.h"

using namespace floe;

namespace {

// Runs `fn` with the tiny preset's keys and tensors (alive only during the call).
void WithTiny(const std::function<void(ModelCollector&)>& fn) {
  ModelCollector out("collector");
  RandomModelOptions o;
  o.preset = "tiny";
  o.seed = 3;
  const Status st = RecurformerArchitecture().make_random(o, out, [&] {
    fn(out);
    return Status::Ok();
  });
  REQUIRE(st.ok());
}

std::unique_ptr<RecurformerModel> Load(ModelCollector& out) {
  auto net = RecurformerFromGguf(out.metadata(), out.tensors());
  INFO(net.status().ToString());
  REQUIRE(net.ok());
  auto lm = RecurformerModel::Create(std::move(net).value());
  REQUIRE(lm.ok());
  return std::move(lm).value();
}

std::vector<int32_t> Tokens(size_t n) {
  std::vector<int32_t> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = int32_t((i * 7919 + 13) % 32000);
  return t;
}

std::vector<float> Run(const CausalLm& lm, SequenceState& s, std::span<const int32_t> tokens,
                       size_t batch) {
  ThreadContext threads(2);
  std::vector<float> logits(tokens.size() * lm.vocab_size());
  for (size_t i = 0; i < tokens.size(); i += batch) {
    const size_t n = std::min(batch, tokens.size() - i);
    REQUIRE(lm.Forward(s, tokens.subspan(i, n), LogitsMode::kAll,
                       logits.data() + i * lm.vocab_size(), threads, nullptr)
                .ok());
  }
  return logits;
}

float MaxAbs(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("RecurFormer chunked prefill equals token by token, and its state round-trips", "[model]") {
  WithTiny([](ModelCollector& out) {
    auto lm = Load(out);
    const auto tokens = Tokens(70);
    StateOptions o;
    o.context_length = 256;
    o.max_batch = 64;
    auto whole = lm->NewState(o);
    REQUIRE(whole.ok());
    const auto ref = Run(*lm, **whole, tokens, 70);
    for (size_t batch : {1, 5, 16}) {
      INFO("batch " << batch);
      auto s = lm->NewState(o);
      REQUIRE(s.ok());
      CHECK(MaxAbs(Run(*lm, **s, tokens, batch), ref) < 1e-5f);
    }
    // Save after 40 tokens, restore into a fresh state, continue: identical to uninterrupted.
    auto a = lm->NewState(o);
    REQUIRE(a.ok());
    const std::span<const int32_t> t(tokens);
    Run(*lm, **a, t.first(40), 16);
    std::vector<uint8_t> saved;
    REQUIRE((*a)->Save(&saved).ok());
    auto b = lm->NewState(o);
    REQUIRE(b.ok());
    REQUIRE((*b)->Restore(saved).ok());
    auto fork = (*a)->Clone();
    REQUIRE(fork.ok());
    const auto rest_a = Run(*lm, **a, t.subspan(40), 16);
    CHECK(MaxAbs(Run(*lm, **b, t.subspan(40), 16), rest_a) == 0.0f);
    CHECK(MaxAbs(Run(*lm, **fork, t.subspan(40), 7), rest_a) < 1e-5f);
    // A truncated state is refused and changes nothing.
    saved.resize(saved.size() - 4);
    CHECK((*b)->Restore(saved).code() == StatusCode::kInvalidArgument);
    CHECK((*b)->position() == 70);
  });
}

TEST_CASE("RecurFormer keeps keys and values only for the kept heads", "[model]") {
  WithTiny([](ModelCollector& out) {
    auto lm = Load(out);
    auto s = lm->NewState({});
    REQUIRE(s.ok());
    // Kept KV heads: 3 + 4 + 2 + 0 of 4 x 4; head_dim 32, f32 keys and values.
    const size_t per_token = 9 * 2 * 32 * sizeof(float);
    CHECK((*s)->memory_bytes_at(100) - (*s)->memory_bytes_at(0) == 100 * per_token);
    StateOptions ice;
    ice.attention.backend = AttentionBackend::kIce;
    CHECK(!lm->NewState(ice).ok());
  });
}

TEST_CASE("RecurFormer GGUF errors name the key or tensor", "[model]") {
  auto expect_error = [](const std::function<void(ModelCollector&)>& spoil, const char* what) {
    WithTiny([&](ModelCollector& out) {
      spoil(out);
      INFO("expecting: " << what);
      auto net = RecurformerFromGguf(out.metadata(), out.tensors());
      REQUIRE(!net.ok());
      INFO(net.status().ToString());
      CHECK(net.status().message().find(what) != std::string::npos);
    });
  };
  expect_error([](ModelCollector& o) { o.SetInt32Array("recurformer.blk.0.recurrent_heads", {4}); },
               "KV head 4 does not exist");
  expect_error(
      [](ModelCollector& o) {
        o.SetInt32Array("recurformer.blk.2.recurrent_heads", {3, 0});
      },
      "ascending");
  expect_error([](ModelCollector& o) { o.SetInt32Array("recurformer.blk.4.recurrent_heads", {0}); },
               "the model has 4 layers");
  expect_error(
      [](ModelCollector& o) {
        o.SetInt32Array("recurformer.blk.1.recurrent_heads", {0, 1});
      },
      "blk.1.ssm_in.weight");  // heads listed, mixer tensors missing
  expect_error([](ModelCollector& o) { o.SetInt32Array("recurformer.blk.0.recurrent_heads", {}); },
               "lists no recurrent heads");  // mixer tensors present, no heads
  expect_error([](ModelCollector& o) { o.SetUint32("recurformer.ssm.inner_size", 300); },
               "ssm_in.weight");  // the mixers' shapes contradict the key
}
