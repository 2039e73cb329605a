// IceFormer attention (attention/knn/ice_attention.h) on random data: the sparse kernel and
// the exact re-ranking against their scalar references (F32 and F16 caches), exactness vs
// dense attention when k + W + S covers every key, the attended set (sinks ∪ window ∪ top-k,
// causal, each key once) checked query by query, and the settings' validation.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include <catch2/catch.hpp>

#include "attention/attention_settings.h"
#include "attention/dense/dense_attention.h"
#include "attention/knn/faiss/faiss_knn.h"
#include "attention/knn/ice_attention.h"
#include "attention/knn/knn_index_set.h"
#include "attention/knn/shared_candidates.h"
#include "attention/knn/ice_reference.h"

using namespace floe;

namespace {

// Indexes positions [0, n) of every KV head of `layer` up front.
void IndexAll(KnnIndexSet* index, const KvCache& cache, size_t layer, size_t n) {
  std::vector<float> buffer;
  for (size_t h = 0; h < cache.n_kv_heads(); ++h)
    REQUIRE(index->Extend(cache, layer, h, n, &buffer).ok());
}

struct Fixture {
  size_t layers = 2, kv_heads = 2, heads = 4, hd = 16, n = 300;
  KvCache cache;
  std::vector<float> q;  // n x heads x hd

  explicit Fixture(DType dtype, uint32_t seed = 1) {
    REQUIRE(cache.Init(layers, kv_heads, hd, n, dtype).ok());
    std::mt19937 rng(seed);
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> k(kv_heads * hd), v(kv_heads * hd);
    for (size_t l = 0; l < layers; ++l)
      for (size_t p = 0; p < n; ++p) {
        for (auto& x : k) x = d(rng) * (1.0f + 0.01f * float(p % 37));
        for (auto& x : v) x = d(rng);
        cache.Store(l, p, k.data(), v.data());
      }
    q.resize(n * heads * hd);
    for (auto& x : q) x = 2.0f * d(rng);
  }

  std::vector<float> Dense(size_t layer) {
    std::vector<float> out(q.size());
    DenseAttentionArgs a;
    a.cache = &cache;
    a.layer = layer;
    a.n_heads = heads;
    a.n_tokens = n;
    a.q = q.data();
    a.out = out.data();
    DenseAttention(a, nullptr);
    return out;
  }

  std::vector<float> Ice(size_t layer, const AttentionSettings& s,
                         AttentionProbe* probe = nullptr) {
    KnnIndexSet index;
    REQUIRE(index.Init(layers, kv_heads, hd, s).ok());
    IndexAll(&index, cache, layer, n);
    std::vector<float> out(q.size());
    IceAttentionArgs a;
    a.cache = &cache;
    a.index = &index;
    a.settings = &s;
    a.layer = layer;
    a.n_heads = heads;
    a.n_tokens = n;
    a.q = q.data();
    a.out = out.data();
    a.probe = probe;
    ThreadContext threads(2);
    REQUIRE(IceAttention(a, &threads).ok());
    return out;
  }
};

AttentionSettings IceSettings(size_t k, size_t window, size_t sinks) {
  AttentionSettings s;
  s.backend = AttentionBackend::kIce;
  s.k = k;
  s.window = window;
  s.sinks = sinks;
  s.dense_below = 0;
  return s;
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// Records every query (all wanted).
struct RecordAll : AttentionProbe {
  struct Rec {
    size_t layer, head, pos;
    bool sparse;
    std::vector<uint32_t> retrieved;
    size_t eb, ee;
    std::vector<float> out;
  };
  std::mutex mu;
  std::vector<Rec> recs;
  bool Wants(size_t, size_t, size_t) const override { return true; }
  void Record(const AttentionProbeEvent& e) override {
    std::lock_guard<std::mutex> lock(mu);
    recs.push_back({e.layer,
                    e.head,
                    e.position,
                    e.sparse,
                    {e.retrieved.begin(), e.retrieved.end()},
                    e.eligible_begin,
                    e.eligible_end,
                    {e.out, e.out + e.cache->head_dim()}});
  }
};

}  // namespace

TEST_CASE("ice: sparse kernel and exact re-ranking match the scalar references", "[unit]") {
  for (DType dt : {DType::kF32, DType::kF16}) {
    Fixture f(dt);
    std::mt19937 rng(9);
    std::vector<float> scores, out(f.hd), ref(f.hd);
    std::vector<std::pair<float, uint32_t>> scored;
    for (int t = 0; t < 50; ++t) {
      const size_t layer = t % 2, kvh = (t / 2) % 2;
      const float* q = f.q.data() + size_t(t) * f.hd;
      std::vector<uint32_t> pos(f.n);
      std::iota(pos.begin(), pos.end(), 0u);
      std::shuffle(pos.begin(), pos.end(), rng);
      pos.resize(1 + size_t(t) * 5);
      ice::SparseAttendOne(f.cache, layer, kvh, q, pos, &scores, out.data());
      ice::reference::SparseAttend(f.cache, layer, kvh, q, pos, ref.data());
      for (size_t d = 0; d < f.hd; ++d)
        CHECK(std::fabs(out[d] - ref[d]) <= 1e-5f * (1 + std::fabs(ref[d])));
      // Re-ranking every position of [40, 260) equals brute force (scores are well separated).
      std::vector<uint32_t> cand(220), top;
      std::iota(cand.begin(), cand.end(), 40u);
      ice::TopKByInnerProduct(f.cache, layer, kvh, q, cand, 17, &scores, &scored, &top);
      CHECK(top == ice::reference::TopKInnerProduct(f.cache, layer, kvh, q, 40, 260, 17));
    }
  }
}

TEST_CASE("ice: equals dense attention when k + W + S covers every key", "[unit]") {
  for (DType dt : {DType::kF32, DType::kF16}) {
    Fixture f(dt);
    for (size_t layer = 0; layer < 2; ++layer) {
      const auto dense = f.Dense(layer);
      CHECK(MaxAbsDiff(f.Ice(layer, IceSettings(f.n, 0, 0)), dense) <= 1e-5f);
      CHECK(MaxAbsDiff(f.Ice(layer, IceSettings(200, 64, 36)), dense) <= 1e-5f);
      CHECK(MaxAbsDiff(f.Ice(layer, IceSettings(1, f.n, 0)), dense) <= 1e-5f);
    }
    // The sparse kernel over all keys is dense attention too (another order of summation).
    std::vector<float> scores, out(f.hd), ref(f.hd);
    for (size_t p : {0, 1, 77, 299}) {
      std::vector<uint32_t> all(p + 1);
      std::iota(all.begin(), all.end(), 0u);
      const float* q = f.q.data() + p * f.heads * f.hd;
      ice::SparseAttendOne(f.cache, 1, 0, q, all, &scores, out.data());
      DenseAttendOne(f.cache, 1, 0, q, p + 1, ref.data());
      for (size_t d = 0; d < f.hd; ++d) CHECK(std::fabs(out[d] - ref[d]) <= 1e-5f);
    }
  }
}

TEST_CASE("ice: each query attends to sinks ∪ window ∪ its causal top-k, each key once", "[unit]") {
  Fixture f(DType::kF32, 3);
  const auto s = IceSettings(8, 16, 4);
  RecordAll probe;
  const auto out = f.Ice(1, s, &probe);
  REQUIRE(probe.recs.size() == f.n * f.heads);
  size_t sparse = 0;
  for (const auto& r : probe.recs) {
    const size_t n_keys = r.pos + 1;
    const size_t sinks = std::min<size_t>(4, n_keys);
    const size_t wb = std::max(sinks, n_keys - std::min<size_t>(16, n_keys));
    CHECK(r.eb == sinks);
    CHECK(r.ee == wb);
    std::vector<uint32_t> set;
    if (r.sparse) {
      ++sparse;
      CHECK(r.retrieved.size() == 8);
      for (uint32_t id : r.retrieved) {
        CHECK(id >= sinks);
        CHECK(id < wb);  // causal, and never a window key: nothing counted twice
      }
      CHECK(std::set<uint32_t>(r.retrieved.begin(), r.retrieved.end()).size() == 8);
      for (uint32_t p = 0; p < sinks; ++p) set.push_back(p);
      set.insert(set.end(), r.retrieved.begin(), r.retrieved.end());
      for (size_t p = wb; p < n_keys; ++p) set.push_back(uint32_t(p));
    } else {
      CHECK(wb - sinks <= 8);
      set.resize(n_keys);
      std::iota(set.begin(), set.end(), 0u);
    }
    std::vector<float> ref(f.hd);
    const float* q = f.q.data() + (r.pos * f.heads + r.head) * f.hd;
    ice::reference::SparseAttend(f.cache, 1, r.head / 2, q, set, ref.data());
    for (size_t d = 0; d < f.hd; ++d)
      CHECK(std::fabs(r.out[d] - ref[d]) <= 1e-5f * (1 + std::fabs(ref[d])));
    const float* o = out.data() + (r.pos * f.heads + r.head) * f.hd;
    CHECK(std::equal(r.out.begin(), r.out.end(), o));
  }
  CHECK(sparse == (f.n - 28) * f.heads);  // sparse once the eligible range exceeds k
}

namespace {

// IceAttention over tokens [first, first + n) of f's queries into out (`shared`: the blocks'
// candidates carried across calls; null: blocks end with the call).
void IceRange(Fixture& f, KnnIndexSet& index, size_t layer, const AttentionSettings& s,
              size_t first, size_t n, std::vector<float>* out, AttentionProbe* probe = nullptr,
              ice::SharedCandidates* shared = nullptr) {
  IceAttentionArgs a;
  a.cache = &f.cache;
  a.index = &index;
  a.settings = &s;
  a.layer = layer;
  a.n_heads = f.heads;
  a.n_tokens = n;
  a.first_pos = first;
  a.q = f.q.data() + first * f.heads * f.hd;
  a.out = out->data() + first * f.heads * f.hd;
  a.probe = probe;
  a.shared = shared;
  ThreadContext threads(2);
  REQUIRE(IceAttention(a, &threads).ok());
}

double RefDot(const Fixture& f, size_t layer, size_t kv_head, const float* q, uint32_t pos) {
  double d = 0;
  for (size_t i = 0; i < f.hd; ++i)
    d += double(q[i]) * ice::reference::KeyAt(f.cache, layer, pos, kv_head, i);
  return d;
}

}  // namespace

TEST_CASE("ice: top-k of scores equals a full sort (ties, NaN, ineligible ids)", "[unit]") {
  std::mt19937 rng(3);
  for (size_t n : {0, 1, 7, 40, 129, 2000}) {
    for (size_t k : {1, 5, 32, 300}) {
      std::vector<float> scores(n);
      std::vector<uint32_t> ids(n);
      std::iota(ids.begin(), ids.end(), 0u);
      std::shuffle(ids.begin(), ids.end(), rng);
      for (size_t i = 0; i < n; ++i) {
        scores[i] = float(int(rng() % 50)) * 0.25f;  // many ties
        if (rng() % 97 == 0) scores[i] = std::nanf("");
        if (rng() % 89 == 0) scores[i] = -std::numeric_limits<float>::infinity();
      }
      const uint32_t below = uint32_t(n * 3 / 4);
      std::vector<std::pair<float, uint32_t>> all;
      for (size_t i = 0; i < n; ++i)
        if (ids[i] < below)
          all.push_back(
              {std::isnan(scores[i]) ? -std::numeric_limits<float>::infinity() : scores[i],
               ids[i]});
      std::sort(all.begin(), all.end(), [](auto& a, auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      });
      std::vector<uint32_t> expect;
      for (size_t i = 0; i < std::min(k, all.size()); ++i) expect.push_back(all[i].second);
      std::vector<std::pair<float, uint32_t>> scratch;
      std::vector<uint32_t> got;
      CHECK(ice::TopKOfScores(scores.data(), ids, below, k, &scratch, &got) == all.size());
      INFO("n " << n << " k " << k);
      CHECK(got == expect);
      // 16 queries at once (key-major scores, a limit per query, the last 3 lanes unused) give
      // each query what it gets alone.
      const size_t n_q = 13;
      std::vector<float> scores16(n * 16);
      for (size_t i = 0; i < n; ++i)
        for (size_t g = 0; g < 16; ++g)
          scores16[i * 16 + g] =
              g == 0 ? scores[i] : scores[(i * 7 + g) % n] + 0.25f * float(g % 3);
      uint32_t below16[16];
      for (size_t g = 0; g < 16; ++g) below16[g] = uint32_t(n * (g + 4) / 20);
      std::vector<float> maxima;
      std::vector<std::pair<float, uint32_t>> lanes[16];
      size_t admitted[16];
      ice::TopKOfScores16(scores16.data(), ids, below16, n_q, k, &maxima, lanes, admitted);
      for (size_t g = 0; g < n_q; ++g) {
        std::vector<float> column(n);
        for (size_t i = 0; i < n; ++i) column[i] = scores16[i * 16 + g];
        std::vector<uint32_t> alone, together;
        const size_t count = ice::TopKOfScores(column.data(), ids, below16[g], k, &scratch, &alone);
        CHECK(admitted[g] == count);
        ice::FinishTopK(&lanes[g], k, &together);
        CHECK(together == alone);
      }
    }
  }
}

TEST_CASE("ice search blocks: each query ranks its block's shared candidates exactly", "[unit]") {
  for (auto [dtype, block] :
       {std::pair{DType::kF32, size_t{8}}, {DType::kF16, size_t{8}}, {DType::kF32, size_t{40}}}) {
    INFO("block " << block);
    Fixture f(dtype, 5);
    auto s = IceSettings(8, 16, 4);
    s.search_block = block;
    s.dci.candidates_per_k = 2;  // candidates well short of the eligible keys: a real choice
    RecordAll probe;
    const auto out = f.Ice(1, s, &probe);
    KnnIndexSet index;
    REQUIRE(index.Init(f.layers, f.kv_heads, f.hd, s).ok());
    IndexAll(&index, f.cache, 1, f.n);
    KnnScratch scratch;
    size_t checked = 0;
    for (const auto& r : probe.recs) {
      if (!r.sparse) continue;
      // The block's search: at its first kNN position (sparse once the eligible range exceeds
      // k: from position 28 on), with the sum of the GQA group's unit queries there (heads 2g
      // and 2g + 1), over keys [4, min(last window begin - 1, that position)].
      const size_t b0 = r.pos / block * block, rep = std::max<size_t>(b0, 28);
      const uint32_t hi =
          uint32_t(std::min(b0 + block - 16 - 1, rep));  // the block's last window start - 1
      std::vector<float> q_rep(f.hd, 0.0f);
      for (size_t h = r.head / 2 * 2; h < r.head / 2 * 2 + 2; ++h) {
        const float* qh = f.q.data() + (rep * f.heads + h) * f.hd;
        double n2 = 0;
        for (size_t i = 0; i < f.hd; ++i) n2 += double(qh[i]) * double(qh[i]);
        const float inv = float(1.0 / std::sqrt(n2));
        for (size_t i = 0; i < f.hd; ++i) q_rep[i] += qh[i] * inv;
      }
      std::vector<uint32_t> cand;
      REQUIRE(index.at(1, r.head / 2)
                  .Search(q_rep.data(), 4, hi, 10, &scratch, &cand)
                  .ok());                         // ceil(1.25 k)
      for (uint32_t id : cand) CHECK(id <= rep);  // causal: nothing after the searching query
      // This query's eligible candidates, exact scores (double).
      const float* q = f.q.data() + (r.pos * f.heads + r.head) * f.hd;
      std::vector<std::pair<double, uint32_t>> ranked;
      for (uint32_t id : cand)
        if (id < r.ee) ranked.push_back({RefDot(f, 1, r.head / 2, q, id), id});
      std::sort(ranked.begin(), ranked.end(), [](auto& x, auto& y) { return x.first > y.first; });
      REQUIRE(ranked.size() >= 8);
      CHECK(r.retrieved.size() == 8);
      const std::set<uint32_t> eligible(cand.begin(), cand.end());
      const double kth = ranked[7].first;
      for (uint32_t id : r.retrieved) {
        CHECK(eligible.count(id) == 1);
        CHECK(id < r.ee);
        CHECK(RefDot(f, 1, r.head / 2, q, id) >= kth - 1e-4 * (1 + std::fabs(kth)));
      }
      CHECK(std::set<uint32_t>(r.retrieved.begin(), r.retrieved.end()).size() == 8);
      // The output is attention over sinks, retrieved keys and window.
      std::vector<uint32_t> set(4 + r.retrieved.size() + (r.pos + 1 - r.ee));
      std::iota(set.begin(), set.begin() + 4, 0u);
      std::copy(r.retrieved.begin(), r.retrieved.end(), set.begin() + 4);
      std::iota(set.begin() + 4 + ptrdiff_t(r.retrieved.size()), set.end(), uint32_t(r.ee));
      std::vector<float> ref(f.hd);
      ice::reference::SparseAttend(f.cache, 1, r.head / 2, q, set, ref.data());
      for (size_t d = 0; d < f.hd; ++d)
        CHECK(std::fabs(r.out[d] - ref[d]) <= 1e-5f * (1 + std::fabs(ref[d])));
      ++checked;
    }
    CHECK(checked == (f.n - 28) * f.heads);
  }
}

TEST_CASE("ice search blocks: causal, and independent of chunks cut at block multiples", "[unit]") {
  // The index starts empty and IceAttention grows it (ice::IndexLimit), as in a model; with the
  // single-level DCI and the multi-level one (fanout 4: a real hierarchy on 300 keys).
  for (size_t levels : {size_t{1}, size_t{2}}) {
    INFO("DCI levels " << levels);
    Fixture f(DType::kF32, 9);
    auto s = IceSettings(8, 16, 4);
    s.search_block = 16;
    s.dci.candidates_per_k = 2;
    s.dci.levels = levels;
    s.dci.fanout = 4;
    auto fresh = [&](const Fixture& fx) {
      KnnIndexSet index;
      REQUIRE(index.Init(fx.layers, fx.kv_heads, fx.hd, s).ok());
      return index;
    };
    const size_t row = f.heads * f.hd;
    std::vector<float> whole(f.n * row), split(f.n * row);
    KnnIndexSet one = fresh(f);
    IceRange(f, one, 0, s, 0, f.n, &whole);
    CHECK(one.indexed_end(0, 1) == ice::IndexLimit(s, f.n));
    IceRange(f, one, 0, s, f.n, 0, &whole);  // an empty call: nothing to do
    CHECK(one.indexed_end(0, 1) == ice::IndexLimit(s, f.n));
    // Chunks of 160 and 140 (160 is a block multiple), and of 100 and 200 (inside a block, the
    // block's candidates carried): identical, and so is the index they leave.
    for (size_t cut : {size_t{160}, size_t{100}}) {
      KnnIndexSet two = fresh(f);
      ice::SharedCandidates carried;
      carried.Init(f.layers, f.kv_heads, s.search_block);
      IceRange(f, two, 0, s, 0, cut, &split, nullptr, &carried);
      CHECK(two.indexed_end(0, 0) == ice::IndexLimit(s, cut));
      IceRange(f, two, 0, s, cut, f.n - cut, &split, nullptr, &carried);
      CHECK(split == whole);
      CHECK(two.at(0, 1).size() == one.at(0, 1).size());
    }
    // Later tokens (keys, values and queries from position 203 on, inside a block) change: the
    // outputs of positions before 203 must not, with shared searches or without. The new keys
    // are the old ones negated and tripled: their norms raise the DCI norm bound M, which moves
    // every projection of an index that holds them; no search before 203 may see them.
    for (size_t block : {size_t{1}, size_t{16}}) {
      s.search_block = block;
      KnnIndexSet before = fresh(f);
      IceRange(f, before, 0, s, 0, f.n, &whole);
      Fixture g(DType::kF32, 9);
      std::mt19937 rng(77);
      std::normal_distribution<float> d(0.0f, 1.0f);
      std::vector<float> k(g.kv_heads * g.hd), v(g.kv_heads * g.hd);
      for (size_t p = 203; p < g.n; ++p) {
        for (size_t h = 0; h < g.kv_heads; ++h)
          for (size_t i = 0; i < g.hd; ++i)
            k[h * g.hd + i] = -3.0f * ice::reference::KeyAt(g.cache, 0, p, h, i);
        for (auto& x : v) x = d(rng);
        g.cache.Store(0, p, k.data(), v.data());
        for (size_t i = p * row; i < (p + 1) * row; ++i) g.q[i] = 2.0f * d(rng);
      }
      KnnIndexSet changed = fresh(g);
      std::vector<float> after(g.n * row);
      IceRange(g, changed, 0, s, 0, g.n, &after);
      CHECK(std::equal(after.begin(), after.begin() + 203 * row, whole.begin()));
      CHECK(!std::equal(after.begin() + 203 * row, after.end(), whole.begin() + 203 * row));
    }
  }
}

TEST_CASE("ice: dense_below keeps short contexts dense", "[unit]") {
  Fixture f(DType::kF32);
  auto s = IceSettings(4, 8, 2);
  s.dense_below = 200;
  RecordAll probe;
  const auto out = f.Ice(0, s, &probe);
  const auto dense = f.Dense(0);
  for (const auto& r : probe.recs) CHECK(r.sparse == (r.pos + 1 >= 200));
  // Rows of positions < 199 are bit-identical to dense attention.
  const size_t row = f.heads * f.hd;
  CHECK(std::equal(out.begin(), out.begin() + 199 * row, dense.begin()));
}

TEST_CASE("attention settings: bad values are clear errors", "[unit]") {
  AttentionSettings s;
  CHECK(s.Validate(512).ok());  // dense default
  s.backend = AttentionBackend::kIce;
  CHECK(s.Validate(512).ok());
  auto expect = [](const AttentionSettings& x, size_t ctx, StatusCode code, const char* words) {
    const Status st = x.Validate(ctx);
    INFO(st.ToString());
    CHECK(st.code() == code);
    CHECK(st.message().find(words) != std::string::npos);
  };
  auto t = s;
  t.k = 0;
  expect(t, 512, StatusCode::kInvalidArgument, "k (keys retrieved per query) must be at least 1");
  t = s;
  t.window = 600;
  expect(t, 512, StatusCode::kInvalidArgument, "window 600 is larger than the context length 512");
  t = s;
  t.sinks = 513;
  expect(t, 512, StatusCode::kInvalidArgument, "sink count 513");
  t = s;
  t.search_block = 0;
  expect(t, 512, StatusCode::kInvalidArgument,
         "search block (queries per shared kNN search) must be in [1, 1024], not 0");
  t = s;
  t.search_scale = std::nanf("");
  expect(t, 512, StatusCode::kInvalidArgument,
         "search scale (keys a shared search asks for, x k) must be in [1, 64], not nan");
  t = s;
  t.dci.simple_indices = 0;
  expect(t, 512, StatusCode::kInvalidArgument, "simple indices");
  t = s;
  t.backend = static_cast<AttentionBackend>(7);
  expect(t, 512, StatusCode::kInvalidArgument, "unknown attention backend 7");
  t.backend = AttentionBackend::kFaiss;
  if (FaissAvailable()) {
    CHECK(t.Validate(512).ok());
    t.faiss.hnsw_m = 1;
    expect(t, 512, StatusCode::kInvalidArgument,
           "faiss attention: HNSW M (graph degree) must be in [2, 256], not 1");
    t.faiss.hnsw_m = 16;
    t.faiss.ef_search = 0;
    expect(t, 512, StatusCode::kInvalidArgument,
           "faiss attention: HNSW efSearch must be in [1, 65536], not 0");
    t.faiss.ef_search = 256;
    t.faiss.ef_construction = 70000;
    expect(t, 512, StatusCode::kInvalidArgument,
           "HNSW efConstruction must be in [1, 65536], not 70000");
    t.faiss.ef_construction = 200;
    t.faiss.kind = static_cast<FaissKind>(5);
    expect(t, 512, StatusCode::kInvalidArgument,
           "faiss attention: unknown FAISS index kind 5 (choose flat or hnsw)");
    t.faiss.kind = FaissKind::kFlat;
    t.k = 0;
    expect(t, 512, StatusCode::kInvalidArgument,
           "faiss attention: k (keys retrieved per query) must be at least 1");
    t.k = 32;
    t.window = 600;
    expect(t, 512, StatusCode::kInvalidArgument,
           "faiss attention: window 600 is larger than the context length 512");
  } else {
    expect(t, 512, StatusCode::kUnsupported, "built without FAISS");
  }
  CHECK(ParseAttentionBackend("faiss").value() == AttentionBackend::kFaiss);
  CHECK(ParseFaissKind("flat").value() == FaissKind::kFlat);
  CHECK(ParseFaissKind("hnsw").value() == FaissKind::kHnsw);
  CHECK(ParseFaissKind("ivf").status().message() ==
        "unknown FAISS index kind 'ivf' (choose flat or hnsw)");
  CHECK(ParseAttentionBackend("ice").value() == AttentionBackend::kIce);
  CHECK(ParseAttentionBackend("dense").value() == AttentionBackend::kDense);
  const auto bad = ParseAttentionBackend("sparse");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() ==
        "unknown attention backend 'sparse' (choose dense, ice or faiss)");
}

TEST_CASE("kNN index sets refuse empty indexes larger than their callers allow", "[unit]") {
  // docs/allocation-audit.md item 10: every (layer, KV head) index is made when a session is;
  // the caller's bound (the cache they index, or 64 MiB) is checked after the first one.
  AttentionSettings s;
  s.backend = AttentionBackend::kIce;
  s.dci.simple_indices = 32;
  s.dci.composite_indices = 32;  // 1024 directions of 65 floats per head: ~266 KiB each
  KnnIndexSet small;
  const Status st = small.Init(4, 4, 64, s, size_t(1) << 20);
  INFO(st.ToString());
  CHECK(st.code() == StatusCode::kOutOfMemory);
  CHECK(st.message().find("4 layers x 4 KV heads") != std::string::npos);
  KnnIndexSet enough;
  REQUIRE(enough.Init(4, 4, 64, s, size_t(16) << 20).ok());
  CHECK(enough.bytes() > (size_t(1) << 20));
  CHECK(enough.bytes() <= (size_t(16) << 20));
}

// A saved section is hostile input. An entry with a block but no ids is valid (the fuzzer's
// state_restore harness found that it once passed a null pointer to memcpy: UB that the
// sanitizer stage reports); an id beyond the state's positions is refused and changes nothing.
TEST_CASE("ice shared candidates: restore takes empty entries, refuses ids past the end",
          "[unit]") {
  auto section = [](uint64_t count, uint32_t id) {
    std::vector<uint64_t> words = {0x53444e4143454349ULL /* "ICECANDS" */, 1, 1, 4, 0, 0, count};
    std::vector<uint8_t> bytes(words.size() * 8);
    std::memcpy(bytes.data(), words.data(), bytes.size());
    if (count == 1) bytes.insert(bytes.end(), (const uint8_t*)&id, (const uint8_t*)&id + 4);
    return bytes;
  };
  ice::SharedCandidates c;
  c.Init(1, 1, 4);
  REQUIRE(c.Restore(section(0, 0), 4).ok());
  CHECK(c.at(0, 0).block == 0);
  CHECK(c.at(0, 0).ids.empty());
  REQUIRE(c.Restore(section(1, 3), 4).ok());
  CHECK(c.at(0, 0).ids == std::vector<uint32_t>{3});
  const Status st = c.Restore(section(1, 4), 4);
  CHECK(st.code() == StatusCode::kInvalidArgument);
  CHECK(c.at(0, 0).ids == std::vector<uint32_t>{3});
}
