// The FAISS attention backend through the Llama model (stories260K), for both index kinds:
// exactness against dense when k + W + S covers every key, save -> restore -> continue and
// fork with the kNN path active (the index rebuilt from the restored keys is the streamed
// one), an interrupted chunk leaves no stale keys, memory accounting, and clear errors.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "attention/knn/knn_index_set.h"
#include "knn_model_test_util.h"
#include "runtime/engine/model.h"
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
[[maybe_unused]] SessionParams SparseFaiss(FaissKind kind) {
  SessionParams p = floe::testing::SparseKnn(AttentionBackend::kFaiss);
  p.attention.faiss.kind = kind;
  return p;
}

[[maybe_unused]] const FaissKind kKinds[] = {FaissKind::kFlat, FaissKind::kHnsw};

}  // namespace

#ifdef FLOE_TEST_WITH_FAISS

TEST_CASE("faiss: stories260K logits equal dense when k + W + S covers the context", "[model]") {
  auto model = Stories260K();
  const auto ids = StoryTokens(*model, 400);
  for (FaissKind kind : kKinds)
    for (DType kv : {DType::kF32, DType::kF16}) {
      SessionParams dense;
      dense.kv_dtype = kv;
      SessionParams knn = dense;
      knn.attention = SparseFaiss(kind).attention;
      for (auto [k, w, s] :
           {std::tuple<size_t, size_t, size_t>{400, 0, 0}, {144, 256, 4}, {1, 400, 0}}) {
        knn.attention.k = k;
        knn.attention.window = w;
        knn.attention.sinks = s;
        auto a = NewSession(*model, dense);
        auto b = NewSession(*model, knn);
        REQUIRE(a->Eval(ids, true).ok());
        REQUIRE(b->Eval(ids, true).ok());
        INFO(FaissKindName(kind) << " k " << k << " W " << w << " S " << s);
        CHECK(MaxAbsDiff(a->all_logits(), b->all_logits()) <= 1e-5f);
      }
    }
}

TEST_CASE("faiss: flat gives the exact top-k (the logits of ice with an exhaustive search)",
          "[model]") {
  // With every eligible key a DCI candidate (k1 = candidates_per_k k >= eligible keys), ice's
  // top-k is exact too: the flat FAISS backend must give the same logits, to float rounding.
  auto model = Stories260K();
  const auto ids = StoryTokens(*model, 200);
  SessionParams flat = SparseFaiss(FaissKind::kFlat);
  SessionParams ice = flat;
  ice.attention.backend = AttentionBackend::kIce;
  ice.attention.dci.candidates_per_k = 64;  // 8 x 64 = 512 candidates per composite index
  auto a = NewSession(*model, flat);
  auto b = NewSession(*model, ice);
  REQUIRE(a->Eval(ids, true).ok());
  REQUIRE(b->Eval(ids, true).ok());
  CHECK(MaxAbsDiff(a->all_logits(), b->all_logits()) <= 1e-5f);
}

TEST_CASE("faiss: save -> restore -> continue and fork equal the uninterrupted run", "[model]") {
  auto model = Stories260K();
  const auto ids = StoryTokens(*model, 260);
  const std::span<const int32_t> a(ids.data(), 200), b(ids.data() + 200, 60);
  for (FaissKind kind : kKinds) {
    INFO(FaissKindName(kind));
    SessionParams p = SparseFaiss(kind);
    p.batch = 48;
    // Every row of b, decoded token by token from the restored state vs prefilled in chunks of
    // 48, must agree to float32 rounding (1e-4 absolute): both sessions retrieve the same keys,
    // so they do the same arithmetic up to the order of float summation in the matrix kernels
    // (a prefill tile vs one token), whose differences (~2^-24 relative per addition) stay far
    // below 1e-4 on logits of a 5-layer model of width 64.
    // Flat is exact top-k. For HNSW the index holds at most 260 keys and efSearch is 512 >= 260:
    // faiss's level-0 beam is a heap of efSearch candidates that stops only once efSearch
    // candidates lie below the one popped, so with fewer keys than efSearch it never stops
    // early or evicts; it visits every key reachable from the entry point and returns the exact
    // top-k of a connected graph, whatever keys after p (a prefill chunk's later keys, filtered
    // out of the results) the graph holds. With a beam smaller than the index the two runs
    // may retrieve different keys, and no bound follows from the arithmetic.
    p.attention.faiss.ef_search = 512;
    const auto run = floe::testing::CheckRestoreAndFork(*model, p, a, b);
    const auto &lt = run.token_by_token, &lw = run.whole;
    CHECK(MaxAbsDiff(lt, lw) <= 1e-4f);
    const size_t V = model->lm().vocab_size();
    float worst = 0.0f;
    for (size_t r = 0; r < b.size(); ++r) {
      const auto row = [&](const std::vector<float>& all) {
        return std::vector<float>(all.begin() + r * V, all.begin() + (r + 1) * V);
      };
      const float d = MaxAbsDiff(row(run.token_rows), row(run.whole_rows));
      INFO("row " << r);
      CHECK(d <= 1e-4f);
      worst = std::max(worst, d);
    }
    std::printf("faiss %s: token by token vs chunked prefill, %zu rows, max |d| %g\n",
                FaissKindName(kind), b.size(), double(worst));
    CHECK(std::max_element(lt.begin(), lt.end()) - lt.begin() ==
          std::max_element(lw.begin(), lw.end()) - lw.begin());
  }
}

TEST_CASE("faiss: a chunk interrupted between layers leaves no stale keys in the index",
          "[model]") {
  auto model = Stories260K();
  const auto ids = StoryTokens(*model, 200);
  const std::span<const int32_t> a(ids.data(), 100), b(ids.data() + 100, 100);
  for (FaissKind kind : kKinds) {
    INFO(FaissKindName(kind));
    floe::testing::CheckInterruptedChunk(*model, SparseFaiss(kind), a, b);
  }
}

TEST_CASE("faiss: the index is counted in the state's memory", "[model]") {
  auto model = Stories260K();
  const auto ids = StoryTokens(*model, 300);
  for (FaissKind kind : kKinds) {
    StateOptions dense, knn;
    knn.attention = SparseFaiss(kind).attention;
    auto a = model->lm().NewState(dense);
    auto b = model->lm().NewState(knn);
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    ThreadContext threads(1);
    REQUIRE(model->lm().Forward(**a, ids, LogitsMode::kNone, nullptr, threads, nullptr).ok());
    REQUIRE(model->lm().Forward(**b, ids, LogitsMode::kNone, nullptr, threads, nullptr).ok());
    // At least the indexed keys (those past the sinks and out of the last search's window)
    // x 5 layers x 4 kv heads x head_dim 8 floats.
    const size_t indexed = ice::IndexLimit(knn.attention, ids.size()) - knn.attention.sinks;
    REQUIRE(indexed >= 200);
    INFO(FaissKindName(kind) << ": " << (*b)->memory_bytes() - (*a)->memory_bytes()
                             << " index bytes");
    CHECK((*b)->memory_bytes() >= (*a)->memory_bytes() + indexed * 5 * 4 * 8 * 4);
  }
}

TEST_CASE("faiss: bad settings are clear errors", "[model]") {
  auto model = Stories260K();
  SessionParams p;
  p.attention.backend = AttentionBackend::kFaiss;
  p.context_length = 128;
  auto s = Session::Create(*model, p);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message() ==
        "faiss attention: window 256 is larger than the context length 128");
  p.attention.window = 16;
  p.attention.faiss.hnsw_m = 1000;
  s = Session::Create(*model, p);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message() ==
        "faiss attention: HNSW M (graph degree) must be in [2, 256], not 1000");
  p.attention.faiss.hnsw_m = 16;
  CHECK(Session::Create(*model, p).ok());
}

#else

TEST_CASE("faiss: built without FAISS, the backend is unsupported", "[model]") {
  auto model = Stories260K();
  SessionParams p;
  p.attention.backend = AttentionBackend::kFaiss;
  auto s = Session::Create(*model, p);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().code() == StatusCode::kUnsupported);
  CHECK(s.status().message().find("built without FAISS") != std::string::npos);
}

#endif
