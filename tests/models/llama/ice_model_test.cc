// IceFormer attention through the Llama model (stories260K): exactness against dense when
// k + W + S covers every key, save -> restore -> continue and fork with the kNN path active,
// an interrupted chunk leaves no stale keys in the index, memory accounting, and the
// backend's errors for recurrent models.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include "attention/knn/ice_reference.h"
#include "knn_model_test_util.h"
#include "runtime/engine/model.h"
#include "platform/base/state_io.h"
#include "runtime/engine/session.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;

namespace {

using floe::testing::Logits;
using floe::testing::MaxAbsDiff;
using floe::testing::NewSession;
using floe::testing::Stories260K;
using floe::testing::StoryTokens;

// kNN path active from the first positions: small k, window and sinks, no dense prefix.
SessionParams SparseIce() { return floe::testing::SparseKnn(AttentionBackend::kIce); }

}  // namespace

TEST_CASE("ice: stories260K logits equal dense when k + W + S covers the context", "[model]") {
  auto model = Stories260K();
  const auto ids = StoryTokens(*model, 400);
  for (DType kv : {DType::kF32, DType::kF16}) {
    SessionParams dense;
    dense.kv_dtype = kv;
    SessionParams ice = dense;
    ice.attention.backend = AttentionBackend::kIce;
    ice.attention.dense_below = 0;
    for (auto [k, w, s] :
         {std::tuple<size_t, size_t, size_t>{400, 0, 0}, {144, 256, 4}, {1, 400, 0}}) {
      ice.attention.k = k;
      ice.attention.window = w;
      ice.attention.sinks = s;
      auto a = NewSession(*model, dense);
      auto b = NewSession(*model, ice);
      REQUIRE(a->Eval(ids, true).ok());
      REQUIRE(b->Eval(ids, true).ok());
      CHECK(MaxAbsDiff(a->all_logits(), b->all_logits()) <= 1e-5f);
    }
  }
}

// Every query that took the kNN path, checked against the arithmetic of truncated softmax. The
// query attended A = sinks [0, S) + the retrieved keys + the window [W0, p]. Exact attention over
// A (double) is S_A; dense over [0, p] is D; m is the softmax mass of the keys outside A. Since
// D = (1 - m) S_A + m V_miss (V_miss: the mass-weighted mean of the missed values),
// |D_i - S_A_i| = m |V_miss_i - S_A_i| <= m (max_{j not in A} |v_ji| + |S_A_i|). So the check is:
// (1) the output used equals S_A within f32 rounding (a worst-case (|A| + 16) x 2^-23 of the
// largest |value| in A: f32 sums over |A| weighted values plus the softmax's own rounding), and
// (2) it is within that bound of dense.
namespace {

struct TruncationProbe : AttentionProbe {
  std::mutex mu;
  size_t n = 0, exact_fail = 0, bound_fail = 0;
  double worst_exact = 0, worst_ratio = 0, mass_sum = 0;
  bool Wants(size_t, size_t, size_t) const override { return true; }
  void Record(const AttentionProbeEvent& e) override {
    if (!e.sparse) return;
    const KvCache& c = *e.cache;
    const size_t hd = c.head_dim(), p = e.position;
    std::vector<uint32_t> attended;
    std::vector<bool> in(p + 1, false);
    auto add = [&](uint32_t j) {
      if (!in[j]) attended.push_back(j);
      in[j] = true;
    };
    for (size_t j = 0; j < e.eligible_begin; ++j) add(uint32_t(j));
    for (uint32_t j : e.retrieved) add(j);
    for (size_t j = e.eligible_end; j <= p; ++j) add(uint32_t(j));
    std::vector<float> sa(hd), d(hd);
    ice::reference::SparseAttend(c, e.layer, e.kv_head, e.q, attended, sa.data());
    ice::reference::DenseAttend(c, e.layer, e.kv_head, e.q, p + 1, d.data());
    // Softmax mass outside A, and the largest |value| inside and outside A, per dimension.
    const double scale = 1.0 / std::sqrt(double(hd));
    std::vector<double> score(p + 1);
    double mx = -INFINITY;
    for (size_t j = 0; j <= p; ++j) {
      double dot = 0;
      for (size_t i = 0; i < hd; ++i) {
        dot += double(e.q[i]) * ice::reference::KeyAt(c, e.layer, j, e.kv_head, i);
      }
      mx = std::max(mx, score[j] = dot * scale);
    }
    double total = 0, missed = 0;
    std::vector<double> vmax_in(hd, 0), vmax_out(hd, 0);
    for (size_t j = 0; j <= p; ++j) {
      const double w = std::exp(score[j] - mx);
      total += w;
      if (!in[j]) missed += w;
      for (size_t i = 0; i < hd; ++i) {
        const double v = std::fabs(ice::reference::ValueAt(c, e.layer, j, e.kv_head, i));
        auto& m = in[j] ? vmax_in[i] : vmax_out[i];
        m = std::max(m, v);
      }
    }
    const double m = missed / total;
    bool exact_ok = true, bound_ok = true;
    double worst_e = 0, worst_r = 0;
    for (size_t i = 0; i < hd; ++i) {
      const double rounding = double(attended.size() + 16) * std::ldexp(vmax_in[i], -23) + 1e-30;
      const double err = std::fabs(double(e.out[i]) - sa[i]);
      worst_e = std::max(worst_e, err / rounding);
      exact_ok = exact_ok && err <= rounding;
      const double bound = m * (vmax_out[i] + std::fabs(sa[i])) + 2 * rounding;
      const double dev = std::fabs(double(e.out[i]) - d[i]);
      worst_r = std::max(worst_r, dev / bound);
      bound_ok = bound_ok && dev <= bound;
    }
    std::lock_guard<std::mutex> lock(mu);
    ++n;
    mass_sum += m;
    exact_fail += !exact_ok;
    bound_fail += !bound_ok;
    worst_exact = std::max(worst_exact, worst_e);
    worst_ratio = std::max(worst_ratio, worst_r);
  }
};

}  // namespace

TEST_CASE("ice: every kNN query is exact attention over its keys, within the truncation bound",
          "[model]") {
  auto model = Stories260K();
  const auto ids = StoryTokens(*model, 300);
  for (DType kv : {DType::kF32, DType::kF16}) {
    INFO((kv == DType::kF16 ? "f16" : "f32") << " cache");
    TruncationProbe probe;
    SessionParams p = SparseIce();
    p.kv_dtype = kv;
    p.attention_probe = &probe;
    auto a = NewSession(*model, SessionParams{});
    auto b = NewSession(*model, p);
    REQUIRE(a->Eval(ids, true).ok());
    REQUIRE(b->Eval(ids, true).ok());
    INFO(probe.n << " sparse queries, mean missed mass " << probe.mass_sum / double(probe.n)
                 << ", worst |out - exact over A| / rounding " << probe.worst_exact
                 << ", worst |out - dense| / bound " << probe.worst_ratio);
    REQUIRE(probe.n > 1000);  // the kNN path ran
    CHECK(probe.exact_fail == 0);
    CHECK(probe.bound_fail == 0);
    CHECK(MaxAbsDiff(a->all_logits(), b->all_logits()) > 0.0f);  // and changed the logits
  }
}

TEST_CASE("ice: save -> restore -> continue and fork equal the uninterrupted run", "[model]") {
  auto model = Stories260K();
  const auto ids = StoryTokens(*model, 260);
  const std::span<const int32_t> a(ids.data(), 200), b(ids.data() + 200, 60);
  for (size_t block : {size_t{1}, size_t{16}}) {
    for (DType kv : {DType::kF32, DType::kF16}) {
      SessionParams p = SparseIce();
      p.kv_dtype = kv;
      p.batch = 48;
      p.attention.search_block = block;
      INFO("search block " << block);
      const auto run = floe::testing::CheckRestoreAndFork(*model, p, a, b);
      // Decode steps rank the candidates their block's first kNN query found, as prefill does
      // (carried across calls): the two differ only by the score kernels' rounding.
      CHECK(MaxAbsDiff(run.token_by_token, run.whole) <= 1e-4f);  // measured: 0
    }
  }
  // The runs above use the default two-level index (fanout 32: at 200 keys mostly one node);
  // a deeper hierarchy (3 levels, fanout 4) and the single-level index are rebuilt on restore
  // to the index streaming gave as well, so the continuation is the same.
  for (size_t levels : {size_t{1}, size_t{3}}) {
    INFO("DCI levels " << levels);
    SessionParams p = SparseIce();
    p.batch = 48;
    p.attention.dci.levels = levels;
    p.attention.dci.fanout = 4;
    const auto run = floe::testing::CheckRestoreAndFork(*model, p, a, b);
    CHECK(MaxAbsDiff(run.token_by_token, run.whole) <= 1e-4f);
  }
  // A dense session's state restores into an ice session (the index is rebuilt from keys).
  // The reference holds the same keys without a restore: an ice session whose queries attend
  // densely while they see at most a.size() keys (dense_below = a.size() + 1), so a's keys are
  // the dense run's, and sparsely over b, as the restored session does.
  auto dense = NewSession(*model, SessionParams{});
  REQUIRE(dense->Eval(a).ok());
  std::vector<uint8_t> bytes;
  REQUIRE(dense->SaveState(&bytes).ok());
  auto ice = NewSession(*model, SparseIce());
  REQUIRE(ice->RestoreState(bytes).ok());
  REQUIRE(ice->Eval(b, true).ok());
  SessionParams late = SparseIce();
  late.attention.dense_below = a.size() + 1;
  auto reference = NewSession(*model, late);
  REQUIRE(reference->Eval(a).ok());
  REQUIRE(reference->Eval(b, true).ok());
  // Exact: ice's dense path and the dense backend compute a's keys with the same kernels, the
  // rebuilt index equals the streamed one, and both runs make the same searches over b.
  CHECK(ice->all_logits() == reference->all_logits());
}

TEST_CASE("ice: the shared candidates of a saved state are checked like the rest of it",
          "[model]") {
  auto model = Stories260K();
  const auto ids = StoryTokens(*model, 230);
  const std::span<const int32_t> a(ids.data(), 200), b(ids.data() + 200, 30);
  auto s = NewSession(*model, SparseIce());
  REQUIRE(s->Eval(a).ok());  // 200 is inside a block of 16: its candidates are carried
  std::vector<uint8_t> bytes;
  REQUIRE(s->SaveState(&bytes).ok());
  const uint8_t tag[8] = {'I', 'C', 'E', 'C', 'A', 'N', 'D', 'S'};
  const auto at = std::search(bytes.begin(), bytes.end(), tag, tag + 8);
  REQUIRE(at != bytes.end());
  const size_t section = size_t(at - bytes.begin());
  auto target = NewSession(*model, SparseIce());
  REQUIRE(target->Eval(std::span<const int32_t>(ids.data(), 50)).ok());
  const auto before = Logits(*target);
  auto expect_error = [&](std::vector<uint8_t> bad, const char* words) {
    const Status st = target->RestoreState(bad);
    INFO(st.ToString());
    CHECK(st.code() != StatusCode::kOk);
    CHECK(st.message().find(words) != std::string::npos);
    CHECK(target->position() == 50);  // nothing changed
    CHECK(Logits(*target) == before);
  };
  // A crafted state: the value written, then sealed again with a valid checksum, so that the
  // section's own checks (not the checksum) must refuse it.
  auto with_u64 = [&](size_t offset, uint64_t v) {
    auto c = bytes;
    std::memcpy(c.data() + offset, &v, sizeof v);
    c.resize(c.size() - sizeof(uint64_t));
    SealState(&c);
    return c;
  };
  expect_error(with_u64(section + 8, uint64_t{1} << 40), "shared kNN candidates: entry count");
  // The first entry's size (after tag, count, heads, block size; entry: block, first, size).
  expect_error(with_u64(section + 32 + 16, uint64_t{1} << 40), "exceeds the bytes");
  expect_error(with_u64(section + 32 + 8, 5000), "beyond the state's 200");
  expect_error(std::vector<uint8_t>(bytes.begin(), bytes.end() - 1), "session state");
  // Restored as is, the continuation equals the uninterrupted run (the carried candidates are
  // the ones the block's first query found); into another block size or a dense session the
  // section is skipped.
  auto whole = NewSession(*model, SparseIce());
  REQUIRE(whole->Eval(ids).ok());
  REQUIRE(target->RestoreState(bytes).ok());
  REQUIRE(target->Eval(b).ok());
  CHECK(Logits(*target) == Logits(*whole));
  // The keys without the section: a dense session saves no candidates.
  auto dense = NewSession(*model, SessionParams{});
  REQUIRE(dense->RestoreState(bytes).ok());
  std::vector<uint8_t> keys_only;
  REQUIRE(dense->SaveState(&keys_only).ok());
  REQUIRE(std::search(keys_only.begin(), keys_only.end(), tag, tag + 8) == keys_only.end());
  SessionParams other = SparseIce();
  other.attention.search_block = 8;
  auto eight = NewSession(*model, other);
  REQUIRE(eight->RestoreState(bytes).ok());
  REQUIRE(eight->Eval(b).ok());
  auto eight_keys_only = NewSession(*model, other);
  REQUIRE(eight_keys_only->RestoreState(keys_only).ok());
  REQUIRE(eight_keys_only->Eval(b).ok());
  CHECK(Logits(*eight) == Logits(*eight_keys_only));  // skipped: same keys, same searches
  // The dense continuation over the restored keys equals an ice session whose k covers every
  // key (block 8, so it skips the section too): both attend to all keys; the sums differ only
  // in order, the bound of the first test case above (a few ulps of logits of magnitude ~10).
  REQUIRE(dense->Eval(b).ok());
  SessionParams covering = other;
  covering.attention.k = ids.size();
  auto all = NewSession(*model, covering);
  REQUIRE(all->RestoreState(bytes).ok());
  REQUIRE(all->Eval(b).ok());
  CHECK(MaxAbsDiff(Logits(*dense), Logits(*all)) <= 1e-5f);
}

TEST_CASE("ice: a chunk interrupted between layers leaves no stale keys in the index", "[model]") {
  auto model = Stories260K();
  const auto ids = StoryTokens(*model, 200);
  const std::span<const int32_t> a(ids.data(), 100), b(ids.data() + 100, 100);
  floe::testing::CheckInterruptedChunk(*model, SparseIce(), a, b);
}

TEST_CASE("ice: the index is counted in the state's memory", "[model]") {
  auto model = Stories260K();
  const auto ids = StoryTokens(*model, 300);
  StateOptions dense, ice;
  ice.attention = SparseIce().attention;
  auto a = model->lm().NewState(dense);
  auto b = model->lm().NewState(ice);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  ThreadContext threads(1);
  REQUIRE(model->lm().Forward(**a, ids, LogitsMode::kNone, nullptr, threads, nullptr).ok());
  REQUIRE(model->lm().Forward(**b, ids, LogitsMode::kNone, nullptr, threads, nullptr).ok());
  // At least 298 indexed keys x 5 layers x 4 kv heads x 16 simple indices x 8 bytes.
  CHECK((*b)->memory_bytes() >= (*a)->memory_bytes() + 298 * 5 * 4 * 16 * 8);
  (*b)->Reset();
  CHECK((*b)->position() == 0);
}

TEST_CASE("ice: bad settings and recurrent models are clear errors", "[model]") {
  auto model = Stories260K();
  SessionParams p;
  p.attention.backend = AttentionBackend::kIce;
  p.context_length = 128;  // the default window (256) does not fit
  auto s = Session::Create(*model, p);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == StatusCode::kInvalidArgument);
  CHECK(s.status().message() == "ice attention: window 256 is larger than the context length 128");
  p.attention.window = 16;
  p.attention.k = 0;
  s = Session::Create(*model, p);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message() == "ice attention: k (keys retrieved per query) must be at least 1");
  p.attention.k = 4;
  CHECK(Session::Create(*model, p).ok());

  auto rwkv = Model::Load(DataPath("models/rwkv/tiny-rwkv-6v0-1m-FP32.bin"));
  REQUIRE(rwkv.ok());
  auto r = Session::Create(**rwkv, p);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("rwkv6 is recurrent") != std::string::npos);
}
