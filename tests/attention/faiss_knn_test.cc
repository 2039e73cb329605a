// The FAISS kNN index (attention/knn/faiss/faiss_knn.h) on random keys: the flat kind equals brute
// force inside the admissible id range; HNSW keeps to the range and finds most of the true top-k;
// chunked, one-by-one and rebuilt indexes answer identically (the save/restore contract);
// Truncate and Clone; searches on threads whose OpenMP default is above 1 start no OpenMP thread
// and leave the caller's OpenMP setting alone.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <latch>
#include <numeric>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "attention/knn/faiss/faiss_knn.h"
#include "platform/base/thread_context.h"

using namespace floe;

namespace {

constexpr size_t kDim = 32;

struct Keys {
  std::vector<float> keys, queries;
  size_t n;
  explicit Keys(size_t count, size_t n_queries = 64, uint32_t seed = 5) : n(count) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    keys.resize(n * kDim);
    for (size_t i = 0; i < n; ++i)  // uneven norms, like real keys
      for (size_t j = 0; j < kDim; ++j)
        keys[i * kDim + j] = d(rng) * (0.5f + 0.02f * float(i % 61));
    queries.resize(n_queries * kDim);
    for (auto& x : queries) x = d(rng);
  }
  const float* q(size_t i) const { return queries.data() + i * kDim; }
  // The k ids in [lo, hi] (ids = first_id + row) of largest q . k, best first.
  std::vector<uint32_t> TopK(const float* q, uint32_t first_id, uint32_t lo, uint32_t hi,
                             size_t k) const {
    std::vector<std::pair<float, uint32_t>> s;
    for (uint32_t id = lo; id <= hi; ++id) {
      float dot = 0;
      for (size_t j = 0; j < kDim; ++j) dot += q[j] * keys[(id - first_id) * kDim + j];
      s.push_back({dot, id});
    }
    k = std::min(k, s.size());
    std::partial_sort(s.begin(), s.begin() + k, s.end(),
                      [](auto& a, auto& b) { return a.first > b.first; });
    std::vector<uint32_t> out;
    for (size_t i = 0; i < k; ++i) out.push_back(s[i].second);
    return out;
  }
};

[[maybe_unused]] std::unique_ptr<KnnIndex> NewIndex(FaissKind kind) {
  FaissParams p;
  p.kind = kind;
  auto r = NewFaissKnnIndex(kDim, p);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

[[maybe_unused]] std::vector<uint32_t> Search(const KnnIndex& index, const float* q, uint32_t lo,
                                              uint32_t hi, size_t k) {
  KnnScratch s;
  std::vector<uint32_t> out;
  const Status st = index.Search(q, lo, hi, k, &s, &out);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return out;
}

[[maybe_unused]] size_t ThreadCount() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

}  // namespace

TEST_CASE("faiss knn: availability matches the build", "[unit]") {
#ifdef FLOE_TEST_WITH_FAISS
  CHECK(FaissAvailable());
#else
  CHECK_FALSE(FaissAvailable());
  CHECK(NewFaissKnnIndex(kDim, FaissParams()).status().code() == StatusCode::kUnsupported);
#endif
}

#ifdef FLOE_TEST_WITH_FAISS

TEST_CASE("faiss knn: flat search is brute force over the admissible range", "[unit]") {
  const Keys k(700);
  auto index = NewIndex(FaissKind::kFlat);
  REQUIRE(index->Add(10, k.keys.data(), 300).ok());                // ids [10, 310)
  REQUIRE(index->Add(310, k.keys.data() + 300 * kDim, 400).ok());  // ids [310, 710)
  CHECK(index->size() == 700);
  CHECK(index->bytes() >= 700 * kDim * sizeof(float));
  for (size_t i = 0; i < 40; ++i) {
    const uint32_t lo = uint32_t(10 + i * 7), hi = uint32_t(100 + i * 15);
    CHECK(Search(*index, k.q(i), lo, hi, 16) == k.TopK(k.q(i), 10, lo, hi, 16));
  }
  // Ranges beyond the ids present are clamped; an empty range gives nothing.
  CHECK(Search(*index, k.q(0), 0, 5000, 8) == k.TopK(k.q(0), 10, 10, 709, 8));
  CHECK(Search(*index, k.q(0), 30, 29, 8).empty());
  CHECK(Search(*index, k.q(0), 800, 900, 8).empty());
  CHECK(Search(*index, k.q(0), 20, 22, 8).size() == 3);
  // Ids must follow on.
  CHECK(index->Add(800, k.keys.data(), 1).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("faiss knn: HNSW stays in range and finds most of the top-k", "[unit]") {
  const Keys k(2000, 200);
  auto index = NewIndex(FaissKind::kHnsw);
  REQUIRE(index->Add(4, k.keys.data(), k.n).ok());
  double recall = 0;
  for (size_t i = 0; i < 200; ++i) {
    const uint32_t hi = uint32_t(300 + i * 8);  // admissible [4, hi]: causal prefixes
    const auto got = Search(*index, k.q(i), 4, hi, 32);
    CHECK(got.size() == 32);
    for (uint32_t id : got) CHECK((id >= 4 && id <= hi));
    const auto exact = k.TopK(k.q(i), 4, 4, hi, 32);
    const std::set<uint32_t> g(got.begin(), got.end());
    size_t hit = 0;
    for (uint32_t id : exact) hit += g.count(id);
    recall += double(hit) / 32.0;
  }
  INFO("HNSW recall on random keys " << recall / 200);
  CHECK(recall / 200 >= 0.9);
}

TEST_CASE("faiss knn: chunked, one-by-one and rebuilt indexes answer the same, Truncate, Clone",
          "[unit]") {
  const Keys k(900);
  for (FaissKind kind : {FaissKind::kFlat, FaissKind::kHnsw}) {
    INFO(FaissKindName(kind));
    auto bulk = NewIndex(kind), chunked = NewIndex(kind), single = NewIndex(kind);
    REQUIRE(bulk->Add(4, k.keys.data(), k.n).ok());
    for (size_t b = 0; b < k.n; b += 64)
      REQUIRE(chunked->Add(uint32_t(4 + b), k.keys.data() + b * kDim, std::min<size_t>(64, k.n - b))
                  .ok());
    for (size_t i = 0; i < k.n; ++i)
      REQUIRE(single->Add(uint32_t(4 + i), k.keys.data() + i * kDim, 1).ok());
    auto clone = bulk->Clone();
    REQUIRE(clone.ok());
    for (size_t i = 0; i < 30; ++i) {
      const uint32_t hi = uint32_t(200 + i * 20);
      const auto a = Search(*bulk, k.q(i), 4, hi, 16);
      CHECK(a == Search(*chunked, k.q(i), 4, hi, 16));
      CHECK(a == Search(*single, k.q(i), 4, hi, 16));
      CHECK(a == Search(**clone, k.q(i), 4, hi, 16));
    }
    // Truncate to 500 ids (what an interrupted chunk leaves): as if only those were added.
    auto prefix = NewIndex(kind);
    REQUIRE(prefix->Add(4, k.keys.data(), 496).ok());
    REQUIRE(chunked->Truncate(500).ok());
    CHECK(chunked->size() == 496);
    for (size_t i = 0; i < 30; ++i)
      CHECK(Search(*chunked, k.q(i), 4, 499, 16) == Search(*prefix, k.q(i), 4, 499, 16));
    // Clear, then rebuild: the same index again.
    single->Clear();
    CHECK(single->size() == 0);
    REQUIRE(single->Add(4, k.keys.data(), k.n).ok());
    for (size_t i = 0; i < 10; ++i)
      CHECK(Search(*single, k.q(i), 4, 903, 16) == Search(*bulk, k.q(i), 4, 903, 16));
    // The clone is independent of its source.
    bulk->Clear();
    CHECK((*clone)->size() == k.n);
  }
}

// The contract (faiss_knn.h): FAISS runs with one OpenMP thread on the calling thread, whatever
// that thread's OpenMP default, and the default is restored after. The threads are the test's
// own, each given an OpenMP default of 4 (what a TBB worker has on a 4-core machine), so the
// count depends neither on the machine's cores nor on when TBB starts its workers: the workers
// exist, blocked, at both counts. Each builds an HNSW index and searches; without the guard,
// the add would start a team of 3 more threads that libgomp keeps for that worker. (A
// one-query search makes no OpenMP team even unguarded: FAISS sizes its team by the queries.)
TEST_CASE("faiss knn: adds and searches on threads with OpenMP default 4 start no thread",
          "[unit]") {
  const Keys k(3000, 256);
  auto index = NewIndex(FaissKind::kHnsw);
  auto flat = NewIndex(FaissKind::kFlat);
  omp_set_num_threads(3);  // the caller's own OpenMP setting: must survive the searches
  REQUIRE(index->Add(0, k.keys.data(), k.n).ok());
  REQUIRE(flat->Add(0, k.keys.data(), k.n).ok());
  CHECK(omp_get_max_threads() == 3);
  std::vector<std::vector<uint32_t>> serial(256);
  for (size_t i = 0; i < 256; ++i) serial[i] = Search(*index, k.q(i), 0, uint32_t(k.n - 1), 32);
  CHECK(omp_get_max_threads() == 3);

  constexpr size_t kWorkers = 2;
  std::latch ready(kWorkers), go(1), done(kWorkers), leave(1);
  std::vector<std::vector<uint32_t>> parallel(256);
  std::atomic<int> failures{0}, defaults_kept{0};
  std::vector<std::unique_ptr<KnnIndex>> own;  // built by each worker (HNSW's add is OpenMP)
  for (size_t w = 0; w < kWorkers; ++w) own.push_back(NewIndex(FaissKind::kHnsw));
  std::vector<std::thread> workers;
  for (size_t w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      omp_set_num_threads(4);
      ready.count_down();
      go.wait();
      if (!own[w]->Add(0, k.keys.data(), k.n).ok()) failures++;
      KnnScratch s;
      for (size_t i = w; i < 256; i += kWorkers) {
        if (!index->Search(k.q(i), 0, uint32_t(k.n - 1), 32, &s, &parallel[i]).ok()) failures++;
        std::vector<uint32_t> f;
        if (!flat->Search(k.q(i), 0, uint32_t(k.n - 1), 32, &s, &f).ok()) failures++;
      }
      if (omp_get_max_threads() == 4) defaults_kept++;
      done.count_down();
      leave.wait();
    });
  }
  ready.wait();
  const size_t before = ThreadCount();
  go.count_down();
  done.wait();
  const size_t after = ThreadCount();
  leave.count_down();
  for (auto& t : workers) t.join();
  CHECK(failures == 0);
  CHECK(after == before);
  CHECK(defaults_kept == int(kWorkers));
  CHECK(parallel == serial);
  CHECK(omp_get_max_threads() == 3);
  for (size_t w = 0; w < kWorkers; ++w)  // one OpenMP thread builds the same graph everywhere
    for (size_t i = 0; i < 16; ++i)
      CHECK(Search(*own[w], k.q(i), 0, uint32_t(k.n - 1), 32) == serial[i]);

  // From TBB tasks (floe's own case) the answers are the serial ones too.
  ThreadContext threads(2);
  std::vector<std::vector<uint32_t>> tbb(256);
  threads.ParallelFor(256, 1, [&](size_t b, size_t e) {
    KnnScratch s;
    for (size_t i = b; i < e; ++i)
      if (!index->Search(k.q(i), 0, uint32_t(k.n - 1), 32, &s, &tbb[i]).ok()) failures++;
  });
  CHECK(failures == 0);
  CHECK(tbb == serial);
}

#endif  // FLOE_TEST_WITH_FAISS
