// GoldFinch's GOLD key/value speed cache (AttentionSettings::gold_kv_cache): the keys and values
// it keeps are those the rebuild computes, so decode with and without it gives the same logits,
// and both the official ones (../shared/data/reference/goldfinch: logits.f32 of the official
// full-sequence forward, step_logits.f32 of its recurrent path); state save / restore / fork
// with it (it is not saved: a restore rebuilds it); its bytes.
#include <span>
#include <vector>

#include "logits_files.h"
#include "models/goldfinch/goldfinch_model.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;
using floe::testing::MaxAbsDiff;
using floe::testing::ReadF32;
using floe::testing::ReadTokens;

namespace {

constexpr size_t kV = 256, kT = 64;

std::unique_ptr<Model> LoadReference() {
  auto model = Model::Load(DataPath("reference/goldfinch/model.pth"));
  INFO(model.status().ToString());
  REQUIRE(model.ok());
  return std::move(model).value();
}

StateOptions WithSpeedCache(size_t batch = 64) {
  StateOptions o;
  o.max_batch = batch;
  o.attention.gold_kv_cache = true;
  return o;
}

// Logits of `tokens` fed one at a time (kLast each), the decode path, after a kLast prefill of
// the first `prefill` tokens (whose last row is the first row returned).
std::vector<float> Decode(const CausalLm& lm, const StateOptions& o,
                          std::span<const int32_t> tokens, size_t prefill) {
  ThreadContext threads(2);
  auto s = lm.NewState(o);
  REQUIRE(s.ok());
  std::vector<float> rows((tokens.size() - prefill + 1) * kV);
  REQUIRE(
      lm.Forward(**s, tokens.subspan(0, prefill), LogitsMode::kLast, rows.data(), threads, nullptr)
          .ok());
  for (size_t t = prefill; t < tokens.size(); ++t)
    REQUIRE(lm.Forward(**s, tokens.subspan(t, 1), LogitsMode::kLast,
                       rows.data() + (t - prefill + 1) * kV, threads, nullptr)
                .ok());
  return rows;
}

}  // namespace

TEST_CASE("GoldFinch speed cache: the official logits, any chunking", "[model]") {
  auto model = LoadReference();
  const auto tokens = ReadTokens(DataPath("reference/goldfinch/tokens.txt"));
  const auto seq = ReadF32(DataPath("reference/goldfinch/logits.f32"));
  const auto step = ReadF32(DataPath("reference/goldfinch/step_logits.f32"));
  REQUIRE(tokens.size() == kT);
  REQUIRE(seq.size() == kT * kV);
  REQUIRE(step.size() == kT * kV);
  ThreadContext threads(2);
  for (size_t batch : {64, 1, 5, 16}) {
    INFO("chunk size " << batch);
    auto s = model->lm().NewState(WithSpeedCache(batch));
    REQUIRE(s.ok());
    std::vector<float> out(kT * kV);
    REQUIRE(model->lm().Forward(**s, tokens, LogitsMode::kAll, out.data(), threads, nullptr).ok());
    CHECK(MaxAbsDiff(out, seq) <= 1e-4f);
    CHECK(MaxAbsDiff(out, step) <= 1e-4f);
  }
}

TEST_CASE("GoldFinch speed cache: decode equals the rebuild and the official step logits",
          "[model]") {
  auto model = LoadReference();
  const CausalLm& lm = model->lm();
  const auto tokens = ReadTokens(DataPath("reference/goldfinch/tokens.txt"));
  const auto step = ReadF32(DataPath("reference/goldfinch/step_logits.f32"));
  REQUIRE(tokens.size() == kT);
  for (size_t prefill : {1, 23, 40}) {
    INFO("kLast prefill of " << prefill << " tokens, then token by token");
    const auto rebuilt = Decode(lm, StateOptions{}, tokens, prefill);
    const auto cached = Decode(lm, WithSpeedCache(), tokens, prefill);
    const std::vector<float> official(step.begin() + (prefill - 1) * kV, step.end());
    const float d = MaxAbsDiff(cached, rebuilt), o = MaxAbsDiff(cached, official);
    WARN("prefill " << prefill << ": max |cached - rebuilt| = " << d
                    << ", max |cached - step_logits.f32| = " << o);
    CHECK(d <= 1e-5f);
    CHECK(o <= 1e-4f);
  }
  // The speed cache grows with the sequence: at least one f32 key and value row per token and
  // GOLD layer, and nothing when off.
  const auto* gf = dynamic_cast<const GoldfinchModel*>(&lm);
  REQUIRE(gf != nullptr);
  CHECK(gf->speed_cache_bytes_per_token() == 2 * 2 * 64 * 4);  // 2 GOLD layers, D 64, f32
  ThreadContext threads(2);
  auto on = lm.NewState(WithSpeedCache());
  auto off = lm.NewState({});
  REQUIRE(on.ok());
  REQUIRE(off.ok());
  for (auto* s : {&*on, &*off})
    REQUIRE(lm.Forward(**s, tokens, LogitsMode::kNone, nullptr, threads, nullptr).ok());
  CHECK(GoldfinchModel::speed_cache_bytes(**on) >= kT * gf->speed_cache_bytes_per_token());
  CHECK(GoldfinchModel::speed_cache_bytes(**off) == 0);
  CHECK((*on)->memory_bytes() >= (*off)->memory_bytes() + GoldfinchModel::speed_cache_bytes(**on));
}

TEST_CASE("GoldFinch speed cache: save, restore (rebuilt), fork", "[model]") {
  auto model = LoadReference();
  const CausalLm& lm = model->lm();
  const auto tokens = ReadTokens(DataPath("reference/goldfinch/tokens.txt"));
  const auto seq = ReadF32(DataPath("reference/goldfinch/logits.f32"));
  ThreadContext threads(2);
  const std::span<const int32_t> head(tokens.data(), 25), rest(tokens.data() + 25, kT - 25);
  auto a = lm.NewState(WithSpeedCache(7));
  REQUIRE(a.ok());
  REQUIRE(lm.Forward(**a, head, LogitsMode::kNone, nullptr, threads, nullptr).ok());
  std::vector<uint8_t> saved;
  REQUIRE((*a)->Save(&saved).ok());
  // The speed cache is not part of the state: the bytes are those of a state without it.
  auto plain = lm.NewState({});
  REQUIRE(plain.ok());
  REQUIRE(lm.Forward(**plain, head, LogitsMode::kNone, nullptr, threads, nullptr).ok());
  std::vector<uint8_t> plain_saved;
  REQUIRE((*plain)->Save(&plain_saved).ok());
  CHECK(saved.size() == plain_saved.size());
  auto fork = (*a)->Clone();
  REQUIRE(fork.ok());
  auto restored = lm.NewState(WithSpeedCache());
  REQUIRE(restored.ok());
  REQUIRE((*restored)->Restore(saved).ok());
  CHECK(GoldfinchModel::speed_cache_bytes(**restored) == 0);  // rebuilt by the next Forward
  auto fork_of_restored = (*restored)->Clone();  // before that Forward: nothing to copy yet
  REQUIRE(fork_of_restored.ok());
  auto into_plain = lm.NewState({});  // and a state saved with it restores into one without
  REQUIRE(into_plain.ok());
  REQUIRE((*into_plain)->Restore(saved).ok());
  const size_t n = rest.size();
  std::vector<float> ra(n * kV), rb(n * kV), rc(n * kV), rd(n * kV);
  REQUIRE(lm.Forward(**a, rest, LogitsMode::kAll, ra.data(), threads, nullptr).ok());
  REQUIRE(lm.Forward(**fork, rest, LogitsMode::kAll, rb.data(), threads, nullptr).ok());
  REQUIRE(lm.Forward(**restored, rest, LogitsMode::kAll, rc.data(), threads, nullptr).ok());
  REQUIRE(lm.Forward(**into_plain, rest, LogitsMode::kAll, rd.data(), threads, nullptr).ok());
  std::vector<float> re(n * kV);
  REQUIRE(lm.Forward(**fork_of_restored, rest, LogitsMode::kAll, re.data(), threads, nullptr).ok());
  CHECK(re == rc);
  CHECK(ra == rb);  // the fork copied the rows
  CHECK(MaxAbsDiff(ra, rc) <= 1e-5f);
  CHECK(MaxAbsDiff(ra, rd) <= 1e-5f);
  CHECK(MaxAbsDiff(ra, std::vector<float>(seq.begin() + 25 * kV, seq.end())) <= 1e-4f);
  CHECK(GoldfinchModel::speed_cache_bytes(**restored) > 0);
  // Reset keeps the memory, drops the rows: the sequence starts over exactly.
  (*a)->Reset();
  std::vector<float> again(kT * kV);
  REQUIRE(lm.Forward(**a, tokens, LogitsMode::kAll, again.data(), threads, nullptr).ok());
  CHECK(MaxAbsDiff(again, seq) <= 1e-4f);
}

TEST_CASE("GoldFinch memory budget: the TokenCat and speed cache rows a sequence holds", "[model]") {
  auto model = LoadReference();
  const CausalLm& lm = model->lm();
  // config.json: kv_cache_a_dim 4 (TokenCat: 4-byte id + 4 f32 values per token), GOLD layers
  // 4 and 5 of 6, 2 heads x head_size 32 (speed cache: K + V, f32).
  constexpr size_t kTokenCat = 4 + 4 * 4, kSpeed = 2 * 2 * 2 * 32 * 4;
  StateOptions plain;
  plain.context_length = 4096;
  auto s = lm.NewState(plain);
  REQUIRE(s.ok());
  CHECK((*s)->memory_bytes_at(1000) - (*s)->memory_bytes_at(500) == 500 * kTokenCat);
  StateOptions speed = WithSpeedCache();
  speed.context_length = 4096;
  auto f = lm.NewState(speed);
  REQUIRE(f.ok());
  CHECK((*f)->memory_bytes_at(1000) - (*f)->memory_bytes_at(500) == 500 * (kTokenCat + kSpeed));

  // A session's budget: an empty state plus 300 tokens of both caches.
  std::vector<int32_t> text(600);
  for (size_t i = 0; i < text.size(); ++i) text[i] = int32_t("War and Peace, Book One. "[i % 25]);
  SessionParams p;
  p.threads = 1;
  p.context_length = 4096;
  p.attention.gold_kv_cache = true;
  auto probe = Session::Create(*model, p);
  REQUIRE(probe.ok());
  p.memory_budget = (*probe)->state_bytes() + 300 * (kTokenCat + kSpeed);
  auto b = Session::Create(*model, p);
  REQUIRE(b.ok());
  auto& session = **b;
  CHECK(session.Eval(std::span<const int32_t>(text).first(400)).code() ==
        StatusCode::kOutOfMemory);
  CHECK(session.position() == 0);
  REQUIRE(session.Eval(std::span<const int32_t>(text).first(250)).ok());
  CHECK(session.Eval(std::span<const int32_t>(text).subspan(250, 100)).code() ==
        StatusCode::kOutOfMemory);
  CHECK(session.position() == 250);
  REQUIRE(session.Eval(std::span<const int32_t>(text).subspan(250, 50)).ok());
  CHECK(session.position() == 300);
  CHECK(session.Eval(std::span<const int32_t>(text).subspan(300, 1)).code() ==
        StatusCode::kOutOfMemory);
}
