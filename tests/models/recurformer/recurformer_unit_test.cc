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

namespace {

// The tiny preset's replaced KV heads, by (layer, head).
constexpr std::pair<size_t, size_t> kTinyRecurrent[] = {{0, 1}, {2, 0}, {2, 3}, {3, 0}, {3, 1},
                                                       {3, 2}, {3, 3}};

// A plan naming the file's recurrent heads `recurrent`, the other heads `rest` (default) plus
// `extra` entries.
HeadPlan TinyPlan(HeadSpec rest, std::vector<HeadPlanEntry> extra = {}) {
  HeadPlan p;
  p.default_spec = rest;
  for (auto [l, h] : kTinyRecurrent) p.heads.push_back({l, h, HeadSpec{HeadMode::kRecurrent}});
  for (auto& e : extra) p.heads.push_back(e);
  return p;
}

std::unique_ptr<SequenceState> NewState(const CausalLm& lm, const StateOptions& o) {
  auto s = lm.NewState(o);
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  return std::move(s).value();
}

}  // namespace

TEST_CASE("RecurFormer takes a plan naming its recurrent heads: the plain model's logits",
          "[model]") {
  WithTiny([](ModelCollector& out) {
    auto lm = Load(out);
    CHECK(lm->accepts_head_plan());
    CHECK(lm->has_recurrent_heads());
    const auto tokens = Tokens(70);
    StateOptions plain;
    plain.context_length = 256;
    plain.max_batch = 16;
    auto p = NewState(*lm, plain);
    const auto ref = Run(*lm, *p, tokens, 16);
    // Dense kept heads, and windows as long as the context: the same attention as the file's.
    for (const HeadSpec rest : {HeadSpec{HeadMode::kDense}, HeadSpec{HeadMode::kWindow, 0, 256, 0}}) {
      INFO("kept heads " << rest.ToString());
      StateOptions o = plain;
      o.head_plan = TinyPlan(rest);
      auto s = NewState(*lm, o);
      CHECK(MaxAbs(Run(*lm, *s, tokens, 16), ref) < 1e-5f);
      auto one = NewState(*lm, o);
      CHECK(MaxAbs(Run(*lm, *one, tokens, 1), ref) < 1e-5f);
    }
    // Window heads of 8 keys differ from the file's dense heads once the sequence is longer.
    StateOptions w = plain;
    w.head_plan = TinyPlan(HeadSpec{HeadMode::kWindow, 0, 8, 0});
    auto ws = NewState(*lm, w);
    const auto windowed = Run(*lm, *ws, tokens, 16);
    const size_t V = lm->vocab_size();
    CHECK(MaxAbs({windowed.begin(), windowed.begin() + 8 * V}, {ref.begin(), ref.begin() + 8 * V}) <
          1e-5f);
    CHECK(MaxAbs(windowed, ref) > 1e-3f);
    // Only the kept heads' last keys: 9 kept KV heads x (8 + 15 ring rows) whatever the length.
    CHECK(ws->memory_bytes_at(200) == ws->memory_bytes_at(100));
    CHECK(p->memory_bytes_at(200) - p->memory_bytes_at(100) == 100 * 9 * 2 * 32 * sizeof(float));
  });
}

TEST_CASE("RecurFormer under a mixed plan: save -> restore -> continue and fork", "[model]") {
  WithTiny([](ModelCollector& out) {
    auto lm = Load(out);
    const auto tokens = Tokens(120);
    const std::span<const int32_t> t(tokens);
    StateOptions o;
    o.context_length = 256;
    o.max_batch = 16;
    o.attention.dense_below = 32;
    o.head_plan = TinyPlan(HeadSpec{HeadMode::kDense},
                           {{0, 0, HeadSpec{HeadMode::kWindow, 0, 12, 0}},
                            {1, 2, HeadSpec{HeadMode::kKnn, 4, 16, 2}},
                            {2, 1, HeadSpec{HeadMode::kWindow, 0, 40, 0}}});
    auto whole = NewState(*lm, o);
    const auto ref = Run(*lm, *whole, t, 16);
    auto a = NewState(*lm, o);
    Run(*lm, *a, t.first(70), 16);
    std::vector<uint8_t> saved;
    REQUIRE(a->Save(&saved).ok());
    auto fork = a->Clone();
    REQUIRE(fork.ok());
    StateOptions other = o;
    other.max_batch = 5;  // other ring lengths
    auto b = NewState(*lm, other);
    REQUIRE(b->Restore(saved).ok());
    CHECK(b->position() == 70);
    const std::vector<float> tail(ref.end() - 50 * lm->vocab_size(), ref.end());
    CHECK(MaxAbs(Run(*lm, *a, t.subspan(70), 16), tail) == 0.0f);
    CHECK(MaxAbs(Run(*lm, **fork, t.subspan(70), 16), tail) < 1e-5f);
    CHECK(MaxAbs(Run(*lm, *b, t.subspan(70), 5), tail) < 1e-4f);
    // A planned state is not a plain one, nor the other way round; a bad one changes nothing.
    StateOptions plain = o;
    plain.head_plan.reset();
    auto p = NewState(*lm, plain);
    CHECK(p->Restore(saved).code() == StatusCode::kInvalidArgument);
    std::vector<uint8_t> plain_bytes;
    REQUIRE(p->Save(&plain_bytes).ok());
    CHECK(b->Restore(plain_bytes).code() == StatusCode::kInvalidArgument);
    // Another plan of the same file takes the state when its heads need no more than was kept.
    StateOptions narrower = o;
    narrower.head_plan =
        TinyPlan(HeadSpec{HeadMode::kDense}, {{0, 0, HeadSpec{HeadMode::kWindow, 0, 6, 0}},
                                              {1, 2, HeadSpec{HeadMode::kWindow, 0, 30, 0}},
                                              {2, 1, HeadSpec{HeadMode::kWindow, 0, 40, 0}}});
    auto n = NewState(*lm, narrower);
    REQUIRE(n->Restore(saved).ok());
    CHECK(n->position() == 70);
    Run(*lm, *n, t.subspan(70), 16);
    CHECK(n->position() == 120);
    StateOptions wider = o;
    wider.head_plan =
        TinyPlan(HeadSpec{HeadMode::kDense}, {{0, 0, HeadSpec{HeadMode::kWindow, 0, 20, 0}}});
    auto w = NewState(*lm, wider);
    const Status st = w->Restore(saved);
    CHECK(st.code() == StatusCode::kInvalidArgument);
    CHECK(st.message().find("layer 0 head 0 was saved as window(12)") != std::string::npos);
    CHECK(w->position() == 0);
    saved.resize(saved.size() - 4);
    CHECK(b->Restore(saved).code() == StatusCode::kInvalidArgument);
    CHECK(b->position() == 120);
  });
}

TEST_CASE("RecurFormer refuses plans that contradict its file", "[model]") {
  WithTiny([](ModelCollector& out) {
    auto lm = Load(out);
    auto expect = [&](const HeadPlan& plan, const std::string& words) {
      StateOptions o;
      o.context_length = 256;
      o.head_plan = plan;
      auto s = lm->NewState(o);
      REQUIRE_FALSE(s.ok());
      INFO(s.status().message());
      CHECK(s.status().code() == StatusCode::kInvalidArgument);
      CHECK(s.status().message().find(words) != std::string::npos);
    };
    // `recurrent` for a head that attends in the file.
    expect(TinyPlan(HeadSpec{HeadMode::kDense}, {{1, 0, HeadSpec{HeadMode::kRecurrent}}}),
           "layer 1 head 0: mode 'recurrent', but this head is an attention head in the file "
           "(its recurrent heads: layer 0: 1; layer 2: 0, 3; layer 3: 0, 1, 2, 3)");
    // A Mamba head given an attention mode, named or by the default.
    HeadPlan named = TinyPlan(HeadSpec{HeadMode::kDense});
    named.heads[1].spec = HeadSpec{HeadMode::kWindow, 0, 16, 0};  // layer 2 head 0
    expect(named, "layer 2 head 0: the file replaces this head by a Mamba block");
    expect(named, "not mode 'window'");
    HeadPlan unnamed;
    expect(unnamed, "layer 0 head 1: the file replaces this head by a Mamba block, so the plan "
                    "must name it {\"layer\": 0, \"head\": 1, \"mode\": \"recurrent\"}");
    HeadPlan all_recurrent;
    all_recurrent.default_spec.mode = HeadMode::kRecurrent;
    expect(all_recurrent, "layer 0 head 0: mode 'recurrent', but this head is an attention head");
    // The plan's other checks still apply.
    expect(TinyPlan(HeadSpec{HeadMode::kDense}, {{4, 0, HeadSpec{HeadMode::kDense}}}),
           "the model has 4 layers");
    // An attention probe is taken with a plan (it sees the plan's knn heads).
    struct AnyProbe : AttentionProbe {
      bool Wants(size_t, size_t, size_t) const override { return true; }
      void Record(const AttentionProbeEvent&) override {}
    } probe;
    StateOptions probed;
    probed.head_plan = TinyPlan(HeadSpec{HeadMode::kDense});
    probed.attention_probe = &probe;
    CHECK(lm->NewState(probed).ok());
    // Without a plan, the kept heads are dense only.
    StateOptions ice;
    ice.attention.backend = AttentionBackend::kIce;
    CHECK(lm->NewState(ice).status().message().find("unless a head plan") != std::string::npos);
  });
}
