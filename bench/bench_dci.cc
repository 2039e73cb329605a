// One IceFormer decode query, piece by piece, against exact dense attention of the same head in
// the same run (issue 5: where the time of an ice decode step goes, without a model around it).
//
// H independent (index, KV head) pairs, as a decode step meets one per (layer, KV head): each
// holds n keys of dimension d in an f16 KvCache and a Prioritized DCI index of those keys
// (the keys the index sees are the cache's rounded ones, as in a session). Keys are clustered
// (C random centres, unit noise: real attention keys are far from isotropic; C = 0 gives
// isotropic Gaussian keys, the hard case). Queries go round-robin over the pairs, so no index
// or cache row is hot from the previous query, as in decode. Single thread: every figure is
// the CPU cost of one query head.
//
//   search   PrioritizedDci::Candidates (the DCI traversal)
//   rank     TopKByInnerProduct over the candidates (exact scores, scattered key rows)
//   attend   SparseAttendOne over sinks + top-k + window
//   ice      search + rank + attend: one query head of ice decode
//   dense    DenseAttendOne over all n keys (the baseline)
//   insert   one new key into the index (decode inserts one per (layer, KV head) per token)
//
// Also: mean candidates and index entries visited per query, top-k recall against the exact top-k
// of the eligible range.
//
// usage: bench_dci [-n 32768] [--dim 64] [-H 16] [-q 32] [-r 5] [-k 32] [-W 256] [-S 4]
//                  [--centres 64] [--knn-candidates C] [--knn-composite L] [--knn-simple M]
//                  [--knn-levels N] [--knn-fanout F]   (multi-level DCI; 1 level = plain DCI)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "attention/attention_settings.h"
#include "attention/dense/dense_attention.h"
#include "attention/knn/ice_attention.h"
#include "attention/knn/dci/dci_knn_index.h"
#include "attention/dense/kv_cache.h"
#include "bench/common/bench_util.h"
#include "platform/base/dtype.h"

using namespace floe;
using namespace floe::bench;

namespace {

using Clock = std::chrono::steady_clock;

double Micros(Clock::time_point t0, Clock::time_point t1) {
  return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

int Fail(const Status& st) {
  std::fprintf(stderr, "bench_dci: %s\n", st.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = std::strtoull(Arg(argc, argv, "-n", "32768"), nullptr, 10);
  const size_t dim = std::strtoull(Arg(argc, argv, "--dim", "64"), nullptr, 10);
  const size_t heads = std::strtoull(Arg(argc, argv, "-H", "16"), nullptr, 10);
  const size_t queries = std::strtoull(Arg(argc, argv, "-q", "32"), nullptr, 10);
  const size_t reps = std::strtoull(Arg(argc, argv, "-r", "5"), nullptr, 10);
  const size_t centres = std::strtoull(Arg(argc, argv, "--centres", "64"), nullptr, 10);
  AttentionSettings st;
  st.backend = AttentionBackend::kIce;
  st.k = std::strtoull(Arg(argc, argv, "-k", "32"), nullptr, 10);
  st.window = std::strtoull(Arg(argc, argv, "-W", "256"), nullptr, 10);
  st.sinks = std::strtoull(Arg(argc, argv, "-S", "4"), nullptr, 10);
  st.dci.candidates_per_k = std::strtoull(
      Arg(argc, argv, "--knn-candidates", std::to_string(st.dci.candidates_per_k).c_str()), nullptr,
      10);
  st.dci.composite_indices = std::strtoull(
      Arg(argc, argv, "--knn-composite", std::to_string(st.dci.composite_indices).c_str()), nullptr,
      10);
  st.dci.simple_indices = std::strtoull(
      Arg(argc, argv, "--knn-simple", std::to_string(st.dci.simple_indices).c_str()), nullptr, 10);
  st.dci.levels = std::strtoull(
      Arg(argc, argv, "--knn-levels", std::to_string(st.dci.levels).c_str()), nullptr, 10);
  st.dci.fanout = std::strtoull(
      Arg(argc, argv, "--knn-fanout", std::to_string(st.dci.fanout).c_str()), nullptr, 10);
  const size_t inserts = 256;
  if (n < st.sinks + st.window + st.k + inserts + 1 || dim == 0 || heads == 0 || queries == 0 ||
      reps == 0) {
    std::fprintf(stderr, "bench_dci: need n > S + W + k + 256 and positive --dim, -H, -q, -r\n");
    return 2;
  }

  // Keys and values for every head, f16 in the cache.
  KvCache cache;
  if (Status s = cache.Init(1, heads, dim, n, DType::kF16); !s.ok()) return Fail(s);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<size_t> pick(0, centres ? centres - 1 : 0);
  std::vector<float> centre(std::max<size_t>(centres, 1) * heads * dim);
  for (float& c : centre) c = centres ? 2.0f * normal(rng) : 0.0f;
  std::vector<float> k(heads * dim), v(heads * dim);
  for (size_t pos = 0; pos < n; ++pos) {
    for (size_t h = 0; h < heads; ++h) {
      const float* c = centre.data() + (pick(rng) * heads + h) * dim;
      for (size_t d = 0; d < dim; ++d) {
        k[h * dim + d] = c[d] + normal(rng);
        v[h * dim + d] = normal(rng);
      }
    }
    cache.Store(0, pos, k.data(), v.data());
  }
  // Indexes over [S, n - inserts); the last `inserts` keys are timed as single inserts.
  std::vector<std::unique_ptr<KnnIndex>> index(heads);
  std::vector<float> rows(n * dim);
  auto t_build = Clock::now();
  for (size_t h = 0; h < heads; ++h) {
    auto made = ice::NewDciKnnIndex(dim, st.dci, ice::IndexSeed(st.dci.seed, 0, h));
    if (!made.ok()) return Fail(made.status());
    index[h] = std::move(made).value();
    for (size_t pos = 0; pos < n; ++pos)
      for (size_t d = 0; d < dim; ++d)
        rows[pos * dim + d] = F16ToF32(static_cast<const uint16_t*>(cache.Key(0, pos, h))[d]);
    if (Status s =
            index[h]->Add(uint32_t(st.sinks), rows.data() + st.sinks * dim, n - inserts - st.sinks);
        !s.ok())
      return Fail(s);
  }
  const double build_s = Seconds(t_build);
  std::vector<double> insert_us;
  for (size_t i = n - inserts; i < n; ++i)
    for (size_t h = 0; h < heads; ++h) {
      for (size_t d = 0; d < dim; ++d)
        rows[d] = F16ToF32(static_cast<const uint16_t*>(cache.Key(0, i, h))[d]);
      const auto t0 = Clock::now();
      if (Status s = index[h]->Add(uint32_t(i), rows.data(), 1); !s.ok()) return Fail(s);
      insert_us.push_back(Micros(t0, Clock::now()));
    }
  size_t index_bytes = 0;
  for (const auto& ix : index) index_bytes += ix->bytes();

  // Queries near a centre of their head, as the keys.
  std::vector<float> q(queries * heads * dim);
  for (size_t i = 0; i < queries * heads; ++i) {
    const size_t h = i % heads;
    const float* c = centre.data() + (pick(rng) * heads + h) * dim;
    for (size_t d = 0; d < dim; ++d) q[i * dim + d] = c[d] + normal(rng);
  }

  // Exact top-k of the eligible range [S, n - W - 1] for the recall.
  const uint32_t lo = uint32_t(st.sinks), hi = uint32_t(n - st.window - 1);
  double recall = 0, cands = 0, visits = 0;
  KnnScratch scratch;
  std::vector<uint32_t> cand, topk, positions;
  std::vector<std::pair<float, uint32_t>> scored;
  std::vector<float> scores, out(dim);
  {
    std::vector<uint32_t> all(hi - lo + 1), exact;
    for (uint32_t i = lo; i <= hi; ++i) all[i - lo] = i;
    for (size_t i = 0; i < queries * heads; ++i) {
      const size_t h = i % heads;
      cand.clear();
      if (Status s = index[h]->Search(q.data() + i * dim, lo, hi, st.k, &scratch, &cand); !s.ok())
        return Fail(s);
      cands += double(cand.size());
      visits += double(scratch.Get<ice::DciKnnScratch>().dci.visited);
      ice::TopKByInnerProduct(cache, 0, h, q.data() + i * dim, cand, st.k, &scores, &scored, &topk);
      ice::TopKByInnerProduct(cache, 0, h, q.data() + i * dim, all, st.k, &scores, &scored, &exact);
      size_t hit = 0;
      for (uint32_t id : topk) hit += std::count(exact.begin(), exact.end(), id);
      recall += double(hit) / double(st.k);
    }
    recall /= double(queries * heads);
    cands /= double(queries * heads);
    visits /= double(queries * heads);
  }

  // Timed: each repetition runs every query once, round-robin over the heads.
  std::vector<double> search_us, rank_us, attend_us, ice_us, dense_us;
  for (size_t r = 0; r < reps; ++r) {
    double s_sum = 0, r_sum = 0, a_sum = 0, d_sum = 0;
    for (size_t i = 0; i < queries * heads; ++i) {
      const size_t h = i % heads;
      const float* qi = q.data() + i * dim;
      const auto t0 = Clock::now();
      cand.clear();
      (void)index[h]->Search(qi, lo, hi, st.k, &scratch, &cand);
      const auto t1 = Clock::now();
      ice::TopKByInnerProduct(cache, 0, h, qi, cand, st.k, &scores, &scored, &topk);
      const auto t2 = Clock::now();
      ice::AttendedPositions(st.sinks, topk, hi + 1, n, &positions);
      ice::SparseAttendOne(cache, 0, h, qi, positions, &scores, out.data());
      const auto t3 = Clock::now();
      // The dense baseline on the next head, so that it too starts cold.
      const size_t hd = (h + heads / 2 + 1) % heads;
      DenseAttendOne(cache, 0, hd, qi, n, out.data());
      const auto t4 = Clock::now();
      s_sum += Micros(t0, t1);
      r_sum += Micros(t1, t2);
      a_sum += Micros(t2, t3);
      d_sum += Micros(t3, t4);
    }
    const double per = 1.0 / double(queries * heads);
    search_us.push_back(s_sum * per);
    rank_us.push_back(r_sum * per);
    attend_us.push_back(a_sum * per);
    ice_us.push_back((s_sum + r_sum + a_sum) * per);
    dense_us.push_back(d_sum * per);
  }
  const Stats s = Summarize(search_us), rk = Summarize(rank_us), a = Summarize(attend_us),
              ic = Summarize(ice_us), d = Summarize(dense_us), ins = Summarize(insert_us);
  std::printf(
      "keys %zu, dim %zu, %zu heads, %s keys; k %zu, W %zu, S %zu; DCI m %zu L %zu, %zu candidates "
      "per composite, %zu level(s)%s\n",
      n, dim, heads, centres ? (std::to_string(centres) + "-centre").c_str() : "isotropic", st.k,
      st.window, st.sinks, st.dci.simple_indices, st.dci.composite_indices,
      st.k * st.dci.candidates_per_k, st.dci.levels,
      st.dci.levels > 1 ? (", fanout " + std::to_string(st.dci.fanout)).c_str() : "");
  std::printf("index build %.2f s, %.1f MiB (%.0f B per key and head)\n", build_s,
              double(index_bytes) / (1024.0 * 1024.0), double(index_bytes) / double(n * heads));
  std::printf("recall@%zu %.4f, candidates per query %.0f, index entries visited per query %.0f\n",
              st.k, recall, cands, visits);
  std::printf("per query head, us (median of %zu x %zu queries; min..max):\n", reps,
              queries * heads);
  std::printf("  search  %8.1f  (%.1f..%.1f)\n", s.median, s.min, s.max);
  std::printf("  rank    %8.1f  (%.1f..%.1f)\n", rk.median, rk.min, rk.max);
  std::printf("  attend  %8.1f  (%.1f..%.1f)\n", a.median, a.min, a.max);
  std::printf("  ice     %8.1f  (%.1f..%.1f)\n", ic.median, ic.min, ic.max);
  std::printf("  dense   %8.1f  (%.1f..%.1f)\n", d.median, d.min, d.max);
  std::printf("  insert  %8.2f  (one key; median of %zu)\n", ins.median, insert_us.size());
  std::printf("dense / ice %.2fx\n", d.median / ic.median);
  return 0;
}
