// Session state: save -> restore -> continue and fork reproduce the uninterrupted run exactly
// (same weights, same kernels, same order of operations: bitwise-identical logits), and
// hostile state bytes are rejected without changing the session.
#include <cstring>

#include "knn_model_test_util.h"
#include "platform/base/aligned_buffer.h"
#include "platform/base/process_stats.h"
#include "platform/base/state_io.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;

namespace {

using floe::testing::Stories260K;

std::unique_ptr<Session> NewSession(const Model& m, SessionParams p = {}) {
  auto s = Session::Create(m, p);
  REQUIRE(s.ok());
  return std::move(s).value();
}

std::vector<float> Logits(const Session& s) { return {s.logits().begin(), s.logits().end()}; }

}  // namespace

TEST_CASE("an over-long token list is refused before its logits are allocated", "[unit]") {
  // Issue 27: the all-logits buffer was sized by the input (tokens x vocab floats) before the
  // context check; 1M ids against the 512-token stories260K vocabulary touched 2 GiB first.
  auto m = Stories260K();
  auto s = NewSession(*m);
  const std::vector<int32_t> ids(size_t(1) << 20, 1);
  REQUIRE(ResetPeakRss());
  const size_t rss = PeakRss();
  const Status st = s->Eval(ids, true);
  CHECK(st.code() == StatusCode::kOutOfRange);
  CHECK(st.message().find("context full") != std::string::npos);
  CHECK(PeakRss() < rss + (size_t(256) << 20));  // nowhere near the 2 GiB of logits
  CHECK(s->position() == 0);
  REQUIRE(s->Eval(std::vector<int32_t>{1, 2, 3}, true).ok());  // still usable
}

TEST_CASE("all logits the machine could never hold are refused before any is reserved",
          "[unit]") {
  // docs/allocation-audit.md item 13: an RWKV-6 session's context is not what bounds its
  // tokens x vocab logits; the machine's memory is, checked before the buffer is sized.
  auto m = Model::Load(DataPath("models/rwkv/tiny-rwkv-6v0-1m-FP32.bin"));
  REQUIRE(m.ok());
  const size_t V = (*m)->lm().vocab_size();
  const size_t n = PhysicalMemoryBytes() / sizeof(float) / V + 1;
  SessionParams p;
  p.context_length = n + 1;
  auto s = NewSession(**m, p);
  REQUIRE(ResetPeakRss());
  const size_t rss = PeakRss();
  const Status st = s->Eval(std::vector<int32_t>(n, 1), true);
  INFO(st.ToString());
  CHECK(st.code() == StatusCode::kOutOfMemory);
  CHECK(st.message().find("evaluate them in chunks") != std::string::npos);
  CHECK(PeakRss() < rss + (size_t(256) << 20));
  CHECK(s->position() == 0);
  REQUIRE(s->Eval(std::vector<int32_t>{1, 2, 3}, true).ok());  // still usable
}

TEST_CASE("save -> restore -> continue equals the uninterrupted run", "[unit]") {
  auto model = Stories260K();
  const auto a = model->tokenizer()->Encode("Once upon a time, there was a little girl", true);
  const auto b = model->tokenizer()->Encode(" who loved to play outside.", false);
  for (DType kv : {DType::kF32, DType::kF16}) {
    SessionParams p;
    p.kv_dtype = kv;
    auto whole = NewSession(*model, p);
    REQUIRE(whole->Eval(a).ok());
    REQUIRE(whole->Eval(b).ok());

    auto first = NewSession(*model, p);
    REQUIRE(first->Eval(a).ok());
    std::vector<uint8_t> bytes;
    REQUIRE(first->SaveState(&bytes).ok());
    auto second = NewSession(*model, p);
    REQUIRE(second->RestoreState(bytes).ok());
    CHECK(second->position() == a.size());
    CHECK(second->tokens() == first->tokens());
    CHECK(Logits(*second) == Logits(*first));
    REQUIRE(second->Eval(b).ok());
    CHECK(Logits(*second) == Logits(*whole));
  }
}

TEST_CASE("fork continues independently and identically", "[unit]") {
  auto model = Stories260K();
  const auto a = model->tokenizer()->Encode("Tom had a red ball", true);
  const auto b = model->tokenizer()->Encode(" and a big dog.", false);
  const auto c = model->tokenizer()->Encode(" in the garden.", false);
  auto s = NewSession(*model);
  REQUIRE(s->Eval(a).ok());
  auto fork = s->Fork();
  REQUIRE(fork.ok());
  REQUIRE(s->Eval(b).ok());        // the original moves on ...
  REQUIRE((*fork)->Eval(c).ok());  // ... the fork takes another branch

  auto ref_b = NewSession(*model);
  REQUIRE(ref_b->Eval(a).ok());
  REQUIRE(ref_b->Eval(b).ok());
  auto ref_c = NewSession(*model);
  REQUIRE(ref_c->Eval(a).ok());
  REQUIRE(ref_c->Eval(c).ok());
  CHECK(Logits(*s) == Logits(*ref_b));
  CHECK(Logits(**fork) == Logits(*ref_c));
}

TEST_CASE("bad state bytes are rejected and leave the session unchanged", "[unit]") {
  auto model = Stories260K();
  const auto a = model->tokenizer()->Encode("The sun was shining", true);
  auto s = NewSession(*model);
  REQUIRE(s->Eval(a).ok());
  std::vector<uint8_t> good;
  REQUIRE(s->SaveState(&good).ok());

  auto target = NewSession(*model);
  const auto probe = model->tokenizer()->Encode("A cat", true);
  REQUIRE(target->Eval(probe).ok());
  const auto before = Logits(*target);
  auto unchanged = [&] {
    CHECK(target->position() == probe.size());
    CHECK(Logits(*target) == before);
  };

  SECTION("every truncation") {
    for (size_t n = 0; n < good.size(); n += (n < 64 ? 1 : 97)) {
      auto st = target->RestoreState(std::span<const uint8_t>(good.data(), n));
      CHECK(st.code() == StatusCode::kInvalidArgument);
    }
    unchanged();
  }
  SECTION("trailing bytes") {
    auto bytes = good;
    bytes.push_back(0);
    CHECK_FALSE(target->RestoreState(bytes).ok());
    unchanged();
  }
  SECTION("wrong magic, version, architecture") {
    for (size_t at : {size_t(0), size_t(4), size_t(12)}) {
      auto bytes = good;
      bytes[at] ^= 0x5a;
      auto st = target->RestoreState(bytes);
      INFO(st.ToString());
      CHECK_FALSE(st.ok());
    }
    unchanged();
  }
  SECTION("a flipped bit in any byte after the header (tokens, logits, state) is refused") {
    // Every byte after the header: payload values carry no structure a reader could
    // check, so only the checksum can see these flips.
    size_t refused = 0, tried = 0;
    for (size_t at = 24; at < good.size(); ++at) {
      auto bytes = good;
      bytes[at] ^= 0x10;
      ++tried;
      auto st = target->RestoreState(bytes);
      if (st.code() == StatusCode::kInvalidArgument) ++refused;
    }
    CHECK(refused == tried);
    unchanged();
  }
  SECTION("a forged token count with a valid checksum is refused") {
    // Header: "FLST", u32 version, u32 7 + "session", u32 1, u64 vocab -> the count at 31.
    auto bytes = good;
    bytes.resize(bytes.size() - sizeof(uint64_t));
    const uint64_t huge = uint64_t{1} << 40;
    std::memcpy(bytes.data() + 31, &huge, sizeof huge);
    SealState(&bytes);
    auto st = target->RestoreState(bytes);
    INFO(st.ToString());
    CHECK(st.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(st.message(), Catch::Contains("token count"));
    unchanged();
  }
  SECTION("a state saved with another KV cache type") {
    SessionParams p;
    p.kv_dtype = DType::kF16;
    auto other = NewSession(*model, p);
    REQUIRE(other->Eval(a).ok());
    std::vector<uint8_t> bytes;
    REQUIRE(other->SaveState(&bytes).ok());
    auto st = target->RestoreState(bytes);
    INFO(st.ToString());
    CHECK(st.code() == StatusCode::kInvalidArgument);
    unchanged();
  }
  SECTION("a position beyond the session's capacity") {
    SessionParams p;
    p.context_length = 4;
    auto small = NewSession(*model, p);
    CHECK_FALSE(small->RestoreState(good).ok());
    CHECK(small->position() == 0);
  }
}

TEST_CASE("a prefill batch over 65536 tokens is refused when the session is made", "[unit]") {
  // Issue 27 (allocation audit): models size their scratch as batch x floats per row, with no
  // cap on batch; a size_t batch near 2^64 could wrap that product to a small buffer.
  auto m = Stories260K();
  SessionParams p;
  p.threads = 1;
  p.batch = size_t(1) << 16;
  CHECK(Session::Create(*m, p).ok());
  for (size_t batch : {(size_t(1) << 16) + 1, ~size_t{0} / 4 + 1, ~size_t{0}}) {
    p.batch = batch;
    auto s = Session::Create(*m, p);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK(s.status().message().find("over the limit of 65536") != std::string::npos);
  }
}

TEST_CASE("a state saved before any token restores (empty token list)", "[unit]") {
  // fuzz_state_restore: restoring zero tokens passed the empty vector's null data() to memcpy
  // (UBSan: "null pointer passed as argument 1").
  auto m = Stories260K();
  auto s = NewSession(*m);
  std::vector<uint8_t> state;
  REQUIRE(s->SaveState(&state).ok());
  auto t = NewSession(*m);
  REQUIRE(t->Eval(std::vector<int32_t>{1, 2}).ok());
  REQUIRE(t->RestoreState(state).ok());
  CHECK(t->tokens().empty());
  CHECK(t->position() == 0);
}
