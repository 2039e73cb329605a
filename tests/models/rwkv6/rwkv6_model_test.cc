// RWKV-6 against its peers' published outputs: rwkv.cpp's test_tiny_rwkv expected logits for
// tiny-rwkv-6v0-1m (FP32 and FP16), through token-by-token decode and chunked prefill; chunked
// prefill against token-by-token on real text; state save/restore and fork.
#include <cmath>
#include <fstream>

#include "models/rwkv6/rwkv6_model.h"
#include "models/rwkv6/rwkv6_random.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"
#include "logits_files.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;
using floe::testing::MaxAbsDiff;
using floe::testing::ReadF32;
using floe::testing::ReadTokens;

namespace {

std::unique_ptr<Model> Load(const std::string& rel) {
  auto m = Model::Load(DataPath(rel));
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  return std::move(m).value();
}

std::unique_ptr<Session> NewSession(const Model& m, size_t batch) {
  SessionParams p;
  p.batch = batch;
  p.threads = 2;
  auto s = Session::Create(m, p);
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  return std::move(s).value();
}

// Logits after `tokens`: all at once (chunks of `batch`) or one Eval per token.
std::vector<float> Run(const Model& m, const std::vector<int32_t>& tokens, size_t batch,
                       bool one_by_one) {
  auto s = NewSession(m, batch);
  if (one_by_one) {
    for (int32_t t : tokens) REQUIRE(s->Eval(std::span<const int32_t>(&t, 1)).ok());
  } else {
    REQUIRE(s->Eval(tokens).ok());
  }
  return {s->logits().begin(), s->logits().end()};
}

const std::vector<int32_t> kPrompt = {34, 105,
                                      110};  // the bytes of "in, as rwkv.cpp's test feeds them

}  // namespace

TEST_CASE("tiny-rwkv-6v0-1m FP32 matches rwkv.cpp's expected logits", "[model]") {
  auto m = Load("models/rwkv/tiny-rwkv-6v0-1m-FP32.bin");
  CHECK(m->architecture() == "rwkv6");
  REQUIRE(m->tokenizer() != nullptr);
  CHECK(m->tokenizer()->Encode("\"in", false) == kPrompt);
  const auto expected = ReadF32(DataPath("golden/expected-logits-6v0-1m.bin"));
  REQUIRE(expected.size() == 256);
  const auto one = Run(*m, kPrompt, 1, true);
  CHECK(MaxAbsDiff(one, expected) <= 1e-4f);
  for (size_t batch : {1, 2, 16, 64}) {
    INFO("chunk size " << batch);
    CHECK(MaxAbsDiff(Run(*m, kPrompt, batch, false), expected) <= 1e-4f);
  }
}

TEST_CASE("tiny-rwkv-6v0-1m FP16 meets rwkv.cpp's FP16 criterion", "[model]") {
  auto m = Load("models/rwkv/tiny-rwkv-6v0-1m-FP16.bin");
  const auto expected = ReadF32(DataPath("golden/expected-logits-6v0-1m.bin"));
  for (bool one_by_one : {true, false}) {
    const auto got = Run(*m, kPrompt, 64, one_by_one);
    double sum = 0.0;
    for (size_t i = 0; i < got.size(); ++i) sum += double(got[i]) - double(expected[i]);
    INFO("summed difference " << sum);
    CHECK(std::fabs(sum) <= 1.05 * 0.184410);
    CHECK(MaxAbsDiff(got, expected) <= 0.05f);
  }
}

TEST_CASE("RWKV-6 chunked prefill equals token-by-token decode across many chunks", "[model]") {
  auto m = Load("models/rwkv/tiny-rwkv-6v0-1m-FP32.bin");
  std::ifstream f(DataPath("corpora/tinystories-valid-head.txt"), std::ios::binary);
  std::string text(700, '\0');
  f.read(text.data(), std::streamsize(text.size()));
  const auto ids = m->tokenizer()->Encode(text, false);
  auto ref = NewSession(*m, 1);
  std::vector<float> ref_all;
  for (int32_t t : ids) {
    REQUIRE(ref->Eval(std::span<const int32_t>(&t, 1)).ok());
    ref_all.insert(ref_all.end(), ref->logits().begin(), ref->logits().end());
  }
  // This model's logits span about +-13: float32 rounding of a 700-step recurrence vs its
  // chunked form differs by ~1e-6 of that scale (the random-model test below holds 1e-5 abs).
  float scale = 1.0f;
  for (float v : ref_all) scale = std::max(scale, std::fabs(v));
  for (size_t batch : {2, 7, 16, 64, 200}) {
    INFO("chunk size " << batch);
    auto s = NewSession(*m, batch);
    REQUIRE(s->Eval(ids, /*all_logits=*/true).ok());
    CHECK(MaxAbsDiff(s->all_logits(), ref_all) <= 3e-6f * scale);
  }
}

TEST_CASE("RWKV-6 chunked prefill equals token-by-token on random models", "[model]") {
  Rwkv6Config shape;
  shape.vocab_size = 300;
  shape.n_embd = 96;
  shape.n_layer = 4;
  shape.dim_ffn = 336;
  shape.head_size = 32;
  shape.lora_mix = 16;
  shape.lora_decay = 32;
  for (uint64_t seed : {1, 2}) {
    auto random = MakeRandomRwkv6(shape, seed);
    REQUIRE(random.ok());
    auto net = BindRwkv6((*random)->tensors, Rwkv6Layout::kOfficial);
    REQUIRE(net.ok());
    auto lm = Rwkv6Model::Create(std::move(net).value());
    REQUIRE(lm.ok());
    std::vector<int32_t> ids(333);
    for (size_t i = 0; i < ids.size(); ++i)
      ids[i] = int32_t((i * 7919 + seed * 31) % shape.vocab_size);
    ThreadContext threads(2);
    auto logits_for = [&](size_t batch, bool one_by_one) {
      StateOptions o;
      o.max_batch = batch;
      auto st = (*lm)->NewState(o);
      REQUIRE(st.ok());
      std::vector<float> out(ids.size() * shape.vocab_size);
      if (one_by_one) {
        for (size_t i = 0; i < ids.size(); ++i)
          REQUIRE((*lm)
                      ->Forward(**st, std::span<const int32_t>(&ids[i], 1), LogitsMode::kLast,
                                out.data() + i * shape.vocab_size, threads, nullptr)
                      .ok());
      } else {
        REQUIRE((*lm)->Forward(**st, ids, LogitsMode::kAll, out.data(), threads, nullptr).ok());
      }
      return out;
    };
    const auto ref = logits_for(1, true);
    float scale = 0.0f;
    for (float v : ref) scale = std::max(scale, std::fabs(v));
    INFO("seed " << seed << ", logits up to " << scale);
    REQUIRE(scale > 0.5f);  // a model whose logits are all ~0 would prove nothing
    for (size_t batch : {3, 16, 64}) {
      INFO("chunk size " << batch);
      CHECK(MaxAbsDiff(logits_for(batch, false), ref) <= 1e-5f);
    }
  }
}

TEST_CASE("RWKV-6 state save -> restore -> continue and fork are exact", "[model]") {
  auto m = Load("models/rwkv/tiny-rwkv-6v0-1m-FP32.bin");
  const auto a = m->tokenizer()->Encode("Once upon a time, there was a little girl", false);
  const auto b = m->tokenizer()->Encode(" who loved to play.", false);
  auto whole = NewSession(*m, 16);
  REQUIRE(whole->Eval(a).ok());
  std::vector<uint8_t> saved;
  REQUIRE(whole->SaveState(&saved).ok());
  auto fork = whole->Fork();
  REQUIRE(fork.ok());
  REQUIRE(whole->Eval(b).ok());
  const std::vector<float> want(whole->logits().begin(), whole->logits().end());

  auto restored = NewSession(*m, 16);
  REQUIRE(restored->RestoreState(saved).ok());
  CHECK(restored->position() == a.size());
  REQUIRE(restored->Eval(b).ok());
  CHECK(std::vector<float>(restored->logits().begin(), restored->logits().end()) == want);
  REQUIRE((*fork)->Eval(b).ok());
  CHECK(std::vector<float>((*fork)->logits().begin(), (*fork)->logits().end()) == want);

  // The state's size does not depend on how much was read.
  std::vector<uint8_t> later;
  REQUIRE(whole->SaveState(&later).ok());
  const size_t token_bytes = 4 * b.size();  // the session also keeps its token history
  CHECK(later.size() == saved.size() + token_bytes);

  // A truncated state is rejected and leaves the session as it was.
  saved.resize(saved.size() - 3);
  CHECK_FALSE(restored->RestoreState(saved).ok());
  CHECK(restored->position() == a.size() + b.size());
}
