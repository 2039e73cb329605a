// Parity with the official GoldFinch code (recursal/GoldFinch-paper @ 4fbc70c):
// ../shared/data/reference/goldfinch holds a random-weight checkpoint (torch.save of the
// official state dict), its config.json, 64 tokens, and the logits of the official full-sequence
// forward (logits.f32) and of its one-token-at-a-time recurrent path (step_logits.f32).
#include <atomic>
#include <map>
#include <mutex>
#include <span>
#include <vector>

#include "logits_files.h"
#include "runtime/engine/model.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;
using floe::testing::MaxAbsDiff;
using floe::testing::ReadF32;
using floe::testing::ReadTokens;

namespace {

constexpr size_t kV = 256;

struct Reference {
  std::vector<int32_t> tokens;
  std::vector<float> seq, step;
};

const Reference& Ref() {
  static const Reference r = [] {
    Reference x;
    x.tokens = ReadTokens(DataPath("reference/goldfinch/tokens.txt"));
    x.seq = ReadF32(DataPath("reference/goldfinch/logits.f32"));
    x.step = ReadF32(DataPath("reference/goldfinch/step_logits.f32"));
    return x;
  }();
  return r;
}

std::unique_ptr<Model> LoadReference() {
  auto model = Model::Load(DataPath("reference/goldfinch/model.pth"));
  INFO(model.status().ToString());
  REQUIRE(model.ok());
  return std::move(model).value();
}

// Max |a - b| over row `row` of two [T][V] arrays.
float RowDiff(const float* a, const float* b) {
  return MaxAbsDiff(std::vector<float>(a, a + kV), std::vector<float>(b, b + kV));
}

// Counts GOLD queries per layer (Wants is asked once per computed (layer, head, position)).
class CountingProbe final : public AttentionProbe {
 public:
  bool Wants(size_t layer, size_t head, size_t position) const override {
    std::lock_guard<std::mutex> lock(mu_);
    if (head == 0) ++rows_[layer];
    positions_.push_back(position);
    return false;
  }
  void Record(const AttentionProbeEvent&) override {}
  size_t rows(size_t layer) const { return rows_.count(layer) ? rows_.at(layer) : 0; }
  size_t total() const {
    size_t n = 0;
    for (auto& [l, c] : rows_) n += c;
    return n;
  }
  void Clear() {
    rows_.clear();
    positions_.clear();
  }

 private:
  mutable std::mutex mu_;
  mutable std::map<size_t, size_t> rows_;
  mutable std::vector<size_t> positions_;
};

}  // namespace

TEST_CASE("GoldFinch .pth + config.json loads as goldfinch", "[model]") {
  auto model = LoadReference();
  CHECK(model->format() == ModelFormat::kTorch);
  CHECK(model->architecture() == "goldfinch");
  CHECK(model->lm().vocab_size() == kV);
}

TEST_CASE("GoldFinch matches the official logits at every position, any chunking", "[model]") {
  auto model = LoadReference();
  const Reference& r = Ref();
  REQUIRE(r.tokens.size() == 64);
  REQUIRE(r.seq.size() == 64 * kV);
  REQUIRE(r.step.size() == 64 * kV);
  ThreadContext threads(2);
  for (size_t batch : {64, 1, 5, 16}) {
    INFO("chunk size " << batch);
    StateOptions o;
    o.max_batch = batch;
    auto s = model->lm().NewState(o);
    REQUIRE(s.ok());
    std::vector<float> out(64 * kV);
    REQUIRE(
        model->lm().Forward(**s, r.tokens, LogitsMode::kAll, out.data(), threads, nullptr).ok());
    const float seq = MaxAbsDiff(out, r.seq), step = MaxAbsDiff(out, r.step);
    WARN("chunk " << batch << ": max |floe - logits.f32| = " << seq
                  << ", max |floe - step_logits.f32| = " << step);
    CHECK(seq <= 1e-4f);
    CHECK(step <= 1e-4f);
  }
  // Token by token with kLast (the decode path).
  auto s = model->lm().NewState({});
  REQUIRE(s.ok());
  std::vector<float> rows(64 * kV);
  for (size_t t = 0; t < 64; ++t)
    REQUIRE(model->lm()
                .Forward(**s, std::span<const int32_t>(&r.tokens[t], 1), LogitsMode::kLast,
                         rows.data() + t * kV, threads, nullptr)
                .ok());
  const float step = MaxAbsDiff(rows, r.step), seq = MaxAbsDiff(rows, r.seq);
  WARN("token by token: max |floe - step_logits.f32| = " << step << ", vs logits.f32 = " << seq);
  CHECK(step <= 1e-4f);
  CHECK(seq <= 1e-4f);
}

TEST_CASE("GoldFinch kLast prefill runs the GOLD layers for a constant number of positions",
          "[model]") {
  auto model = LoadReference();
  const Reference& r = Ref();
  ThreadContext threads(2);
  // 6 layers, first GOLD layer 4: G = 2 GOLD layers. Exact last-position logits need GOLD layer
  // g at the last 2 * (G - g) + 1 positions: 5 + 3 = 8 query rows, whatever the prompt length.
  for (size_t n : {16, 40, 63}) {
    for (size_t batch : {64, 7}) {
      INFO("prompt " << n << ", chunk " << batch);
      CountingProbe probe;
      StateOptions o;
      o.max_batch = batch;
      o.attention_probe = &probe;
      auto s = model->lm().NewState(o);
      REQUIRE(s.ok());
      std::vector<float> last(kV);
      REQUIRE(model->lm()
                  .Forward(**s, std::span<const int32_t>(r.tokens.data(), n), LogitsMode::kLast,
                           last.data(), threads, nullptr)
                  .ok());
      CHECK(probe.rows(4) == 5);
      CHECK(probe.rows(5) == 3);
      CHECK(probe.rows(0) + probe.rows(1) + probe.rows(2) + probe.rows(3) == 0);
      CHECK(RowDiff(last.data(), r.seq.data() + (n - 1) * kV) <= 1e-4f);
      // Decoding the next token then runs one position per GOLD layer.
      probe.Clear();
      REQUIRE(model->lm()
                  .Forward(**s, std::span<const int32_t>(&r.tokens[n], 1), LogitsMode::kLast,
                           last.data(), threads, nullptr)
                  .ok());
      CHECK(probe.rows(4) == 1);
      CHECK(probe.rows(5) == 1);
      CHECK(RowDiff(last.data(), r.seq.data() + n * kV) <= 1e-4f);
    }
  }
  // kNone prefill runs no GOLD query at all.
  CountingProbe probe;
  StateOptions o;
  o.attention_probe = &probe;
  auto s = model->lm().NewState(o);
  REQUIRE(s.ok());
  REQUIRE(model->lm()
              .Forward(**s, std::span<const int32_t>(r.tokens.data(), 30), LogitsMode::kNone,
                       nullptr, threads, nullptr)
              .ok());
  CHECK(probe.total() == 0);
  std::vector<float> all(34 * kV);
  REQUIRE(model->lm()
              .Forward(**s, std::span<const int32_t>(r.tokens.data() + 30, 34), LogitsMode::kAll,
                       all.data(), threads, nullptr)
              .ok());
  CHECK(MaxAbsDiff(all, std::vector<float>(r.seq.begin() + 30 * kV, r.seq.end())) <= 1e-4f);
}

TEST_CASE("GoldFinch state: save, restore, clone continue identically, f16 cache", "[model]") {
  auto model = LoadReference();
  const Reference& r = Ref();
  ThreadContext threads(2);
  const CausalLm& lm = model->lm();
  auto a = lm.NewState({});
  REQUIRE(a.ok());
  std::vector<float> out(64 * kV);
  REQUIRE(lm.Forward(**a, std::span<const int32_t>(r.tokens.data(), 25), LogitsMode::kNone, nullptr,
                     threads, nullptr)
              .ok());
  std::vector<uint8_t> saved;
  REQUIRE((*a)->Save(&saved).ok());
  auto fork = (*a)->Clone();
  REQUIRE(fork.ok());
  auto b = lm.NewState({});
  REQUIRE(b.ok());
  REQUIRE((*b)->Restore(saved).ok());
  CHECK((*b)->position() == 25);
  std::vector<float> ra(39 * kV), rb(39 * kV), rc(39 * kV);
  const std::span<const int32_t> rest(r.tokens.data() + 25, 39);
  REQUIRE(lm.Forward(**a, rest, LogitsMode::kAll, ra.data(), threads, nullptr).ok());
  REQUIRE(lm.Forward(**b, rest, LogitsMode::kAll, rb.data(), threads, nullptr).ok());
  REQUIRE(lm.Forward(**fork, rest, LogitsMode::kAll, rc.data(), threads, nullptr).ok());
  CHECK(ra == rb);
  CHECK(ra == rc);
  CHECK(MaxAbsDiff(ra, std::vector<float>(r.seq.begin() + 25 * kV, r.seq.end())) <= 1e-4f);
  // Truncated and foreign states are errors that leave the state as it was.
  auto bad = saved;
  bad.pop_back();
  CHECK_FALSE((*b)->Restore(bad).ok());
  CHECK((*b)->position() == 64);
  // An f16 TokenCat cache holds 4 + 4 * 2 bytes per token.
  StateOptions f16;
  f16.kv_dtype = DType::kF16;
  auto h = lm.NewState(f16);
  REQUIRE(h.ok());
  REQUIRE(lm.Forward(**h, r.tokens, LogitsMode::kAll, out.data(), threads, nullptr).ok());
  const float d16 = MaxAbsDiff(out, r.seq);
  WARN("f16 TokenCat cache: max |floe - logits.f32| = " << d16);
  CHECK(d16 < 1e-3f);
  std::vector<uint8_t> s16;
  REQUIRE((*h)->Save(&s16).ok());
  CHECK_FALSE((*a)->Restore(s16).ok());  // f32 state rejects an f16 state
}
