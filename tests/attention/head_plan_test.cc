// Head plans (attention/head_plan.h) and planned attention (attention/planned/) on random data:
// Resolve's refusals (heads the model lacks, a head named twice, a window of 0, bad knn
// parameters, recurrent heads in a model without recurrent blocks); each mode against an
// independent reference, a softmax in double over the keys the mode must attend (dense: all,
// window W: (p - W, p], knn covering the context: all), fed in prefill chunks and token by token
// so a window head's ring wraps; recurrent heads write zeros; save/restore and copies continue
// alike; a window head's storage does not grow with the context.
#include <cmath>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "attention/head_plan.h"
#include "attention/planned/planned_attention.h"

using namespace floe;

namespace {

HeadPlan With(std::vector<HeadPlanEntry> heads, HeadSpec def = {}) {
  HeadPlan p;
  p.default_spec = def;
  p.heads = std::move(heads);
  return p;
}

HeadSpec Window(size_t w) { return {HeadMode::kWindow, 32, w, 4}; }
HeadSpec Knn(size_t k, size_t w, size_t s) { return {HeadMode::kKnn, k, w, s}; }

void ExpectError(const HeadPlan& p, const std::string& words, bool allow_recurrent = false) {
  auto r = p.Resolve(/*layers=*/2, /*kv heads=*/2, /*ctx=*/128, allow_recurrent);
  REQUIRE_FALSE(r.ok());
  INFO(r.status().message());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message().find(words) != std::string::npos);
}

// Keys, values and queries of a sequence: n positions of `kv` heads, `heads` query heads.
struct Data {
  size_t layers = 2, kv = 2, heads = 4, hd = 16, n = 150;
  std::vector<float> k, v, q;  // [layer][pos][kv * hd], q: [layer][pos][heads * hd]
  Data() {
    std::mt19937 rng(7);
    std::normal_distribution<float> d(0.0f, 1.0f);
    k.resize(layers * n * kv * hd);
    v.resize(k.size());
    q.resize(layers * n * heads * hd);
    for (auto& x : k) x = d(rng);
    for (auto& x : v) x = d(rng);
    for (auto& x : q) x = 1.5f * d(rng);
  }
  const float* K(size_t l, size_t p) const { return k.data() + (l * n + p) * kv * hd; }
  const float* V(size_t l, size_t p) const { return v.data() + (l * n + p) * kv * hd; }
  const float* Q(size_t l, size_t p) const { return q.data() + (l * n + p) * heads * hd; }

  // Softmax attention in double of query head h at p over keys [from, p].
  std::vector<double> Reference(size_t l, size_t p, size_t h, size_t from) const {
    const size_t g = h / (heads / kv);
    std::vector<double> w;
    double mx = -INFINITY;
    for (size_t s = from; s <= p; ++s) {
      double dot = 0;
      for (size_t d = 0; d < hd; ++d) dot += double(Q(l, p)[h * hd + d]) * K(l, s)[g * hd + d];
      w.push_back(dot / std::sqrt(double(hd)));
      mx = std::max(mx, w.back());
    }
    double z = 0;
    for (double& x : w) z += (x = std::exp(x - mx));
    std::vector<double> out(hd, 0.0);
    for (size_t s = from; s <= p; ++s)
      for (size_t d = 0; d < hd; ++d) out[d] += w[s - from] / z * V(l, s)[g * hd + d];
    return out;
  }
};

// Feeds every position in calls of `chunk` rows and checks every output against the reference
// of its head's mode.
void RunAndCheck(PlannedAttention& pa, const Data& d, size_t chunk, size_t from_pos = 0,
                 size_t to_pos = 0) {
  if (to_pos == 0) to_pos = d.n;
  const size_t group = d.heads / d.kv;
  std::vector<float> out(chunk * d.heads * d.hd);
  for (size_t p0 = from_pos; p0 < to_pos; p0 += chunk) {
    const size_t m = std::min(chunk, to_pos - p0);
    for (size_t l = 0; l < d.layers; ++l) {
      std::vector<float> q(m * d.heads * d.hd);
      for (size_t t = 0; t < m; ++t) {
        pa.Store(l, p0 + t, d.K(l, p0 + t), d.V(l, p0 + t));
        std::copy_n(d.Q(l, p0 + t), d.heads * d.hd, q.data() + t * d.heads * d.hd);
      }
      REQUIRE(pa.Attend(l, m, p0, q.data(), out.data(), nullptr).ok());
      for (size_t t = 0; t < m; ++t) {
        const size_t p = p0 + t;
        for (size_t h = 0; h < d.heads; ++h) {
          const HeadSpec& s = pa.plan().at(l, h / group);
          const float* o = out.data() + (t * d.heads + h) * d.hd;
          if (s.mode == HeadMode::kRecurrent) {
            for (size_t x = 0; x < d.hd; ++x) REQUIRE(o[x] == 0.0f);
            continue;
          }
          const size_t from = s.mode == HeadMode::kWindow && p + 1 > s.window ? p + 1 - s.window : 0;
          const auto ref = d.Reference(l, p, h, from);
          for (size_t x = 0; x < d.hd; ++x) REQUIRE(std::fabs(o[x] - ref[x]) < 2e-5);
        }
      }
    }
  }
}

ResolvedHeadPlan Mixed(const Data& d, bool recurrent = false) {
  // layer 0: dense, window 10; layer 1: knn covering the context, window 37 (or recurrent)
  HeadPlan p = With({{0, 1, Window(10)},
                     {1, 0, Knn(8, d.n, 4)},
                     {1, 1, recurrent ? HeadSpec{HeadMode::kRecurrent} : Window(37)}});
  auto r = p.Resolve(d.layers, d.kv, d.n, recurrent);
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("head plan: Resolve fills the default and refuses bad plans", "[unit]") {
  auto r = With({{1, 0, Window(8)}}, Knn(16, 64, 2)).Resolve(2, 2, 128, false);
  REQUIRE(r.ok());
  CHECK(r->at(1, 0) == Window(8));
  CHECK(r->at(0, 0) == Knn(16, 64, 2));
  CHECK(r->count(HeadMode::kKnn) == 3);
  // A window beyond the context keeps every key: W becomes the context.
  auto wide = With({{0, 0, Window(1000)}}).Resolve(2, 2, 128, false);
  REQUIRE(wide.ok());
  CHECK(wide->at(0, 0).window == 128);

  ExpectError(With({{2, 0, Window(8)}}), "layer 2 head 0, but the model has 2 layers");
  ExpectError(With({{0, 5, Window(8)}}), "has 2 KV heads per layer");
  ExpectError(With({{0, 1, Window(8)}, {0, 1, HeadSpec{}}}), "names layer 0 head 1 twice");
  ExpectError(With({{1, 1, Window(0)}}), "layer 1 head 1: a window head needs a window of at least 1");
  ExpectError(With({}, Window(0)), "default: a window head needs a window");
  ExpectError(With({{0, 0, Knn(0, 16, 4)}}), "knn k (keys retrieved per query) must be at least 1");
  ExpectError(With({{0, 0, Knn(8, 500, 4)}}), "knn window 500 is larger than the context length 128");
  ExpectError(With({{0, 0, Knn(8, 16, 500)}}), "knn sink count 500");
  ExpectError(With({{0, 0, HeadSpec{HeadMode::kRecurrent}}}), "mode 'recurrent' needs a model with recurrent blocks");
  ExpectError(With({{0, 0, HeadSpec{HeadMode(9)}}}), "unknown head mode 9");
  CHECK(With({{0, 0, HeadSpec{HeadMode::kRecurrent}}}).Resolve(2, 2, 128, true).ok());
  CHECK_FALSE(ParseHeadMode("sparse").ok());
  CHECK(ParseHeadMode("sparse").status().message().find("choose dense, knn, window or recurrent") !=
        std::string::npos);
}

TEST_CASE("planned attention: every mode against the reference, in chunks and token by token",
          "[unit]") {
  const Data d;
  for (size_t chunk : {size_t(1), size_t(16), size_t(64)}) {
    for (DType dt : {DType::kF32}) {
      PlannedAttention pa;
      AttentionSettings knn;
      knn.dense_below = 0;  // the kNN path from the first query on
      REQUIRE(pa.Init(Mixed(d), d.heads, d.hd, d.n, chunk, dt, knn).ok());
      INFO("chunk " << chunk);
      RunAndCheck(pa, d, chunk);
    }
  }
}

TEST_CASE("planned attention: recurrent heads write zeros, and bad shapes are refused", "[unit]") {
  const Data d;
  PlannedAttention pa;
  REQUIRE(pa.Init(Mixed(d, true), d.heads, d.hd, d.n, 8, DType::kF32, {}).ok());
  RunAndCheck(pa, d, 8);
  PlannedAttention bad;
  CHECK_FALSE(bad.Init(Mixed(d), 3, d.hd, d.n, 8, DType::kF32, {}).ok());  // 3 heads onto 2
}

TEST_CASE("planned attention: a window head's storage is constant in the context", "[unit]") {
  const Data d;
  auto all_window = With({}, Window(16)).Resolve(d.layers, d.kv, 100000, false);
  auto all_dense = With({}).Resolve(d.layers, d.kv, 100000, false);
  REQUIRE(all_window.ok());
  REQUIRE(all_dense.ok());
  PlannedAttention w, dn;
  REQUIRE(w.Init(*all_window, d.heads, d.hd, 100000, 64, DType::kF32, {}).ok());
  REQUIRE(dn.Init(*all_dense, d.heads, d.hd, 100000, 64, DType::kF32, {}).ok());
  // window: (16 + 64 - 1) rows; dense: 100000 rows; each row = key + value of hd floats.
  CHECK(w.bytes() == d.layers * d.kv * 79 * 2 * d.hd * 4);
  CHECK(dn.bytes() == d.layers * d.kv * 100000 * 2 * d.hd * 4);
}

TEST_CASE("planned attention: save/restore and copies continue the sequence alike", "[unit]") {
  const Data d;
  AttentionSettings knn;
  knn.dense_below = 0;
  PlannedAttention a;
  REQUIRE(a.Init(Mixed(d), d.heads, d.hd, d.n, 16, DType::kF32, knn).ok());
  RunAndCheck(a, d, 16, 0, 96);
  std::vector<uint8_t> bytes;
  StateWriter w(&bytes, "test", a.Shape());
  a.Save(96, w);
  // Restored into storage made with another call size (another ring length): same outputs.
  PlannedAttention b;
  REQUIRE(b.Init(Mixed(d), d.heads, d.hd, d.n, 5, DType::kF32, knn).ok());
  StateReader r(bytes);
  REQUIRE(r.ReadHeader("test", b.Shape()).ok());
  REQUIRE(b.Restore(96, r).ok());
  RunAndCheck(b, d, 5, 96);
  PlannedAttention c;
  REQUIRE(c.Init(Mixed(d), d.heads, d.hd, d.n, 16, DType::kF32, knn).ok());
  REQUIRE(c.CopyFrom(a, 96).ok());
  RunAndCheck(c, d, 16, 96);
  // Truncated bytes: an error, and the storage is unchanged (it still continues correctly).
  PlannedAttention e;
  REQUIRE(e.Init(Mixed(d), d.heads, d.hd, d.n, 16, DType::kF32, knn).ok());
  REQUIRE(e.CopyFrom(a, 96).ok());
  std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 9);
  StateReader rc(cut);
  REQUIRE(rc.ReadHeader("test", e.Shape()).ok());
  CHECK_FALSE(e.Restore(96, rc).ok());
  RunAndCheck(e, d, 16, 96);
}

TEST_CASE("planned attention: a saved layout parses back, and hostile ones are refused", "[unit]") {
  auto resolved = With({{0, 1, Window(5)}, {1, 0, Knn(4, 8, 2)}}).Resolve(2, 2, 64, false);
  REQUIRE(resolved.ok());
  PlannedAttention a;
  REQUIRE(a.Init(*resolved, 4, 8, 64, 3, DType::kF16, AttentionSettings{}).ok());
  const auto shape = a.Shape();
  auto layout = ParseSavedHeadLayout(shape);
  INFO(layout.status().ToString());
  REQUIRE(layout.ok());
  CHECK(layout->n_layers == 2);
  CHECK(layout->n_kv_heads == 2);
  CHECK(layout->head_dim == 8);
  CHECK(layout->dtype == DType::kF16);
  CHECK(layout->specs[1].mode == HeadMode::kWindow);
  CHECK(layout->kept(1, 3) == 3);
  CHECK(layout->kept(1, 30) == 5);
  CHECK(layout->kept(2, 30) == 30);  // knn keeps every position
  auto broken = [&](size_t field, uint64_t value) {
    auto s = shape;
    s[field] = value;
    return ParseSavedHeadLayout(s).status();
  };
  CHECK(broken(0, 3).message().find("layer and head counts") != std::string::npos);
  CHECK(broken(1, 0).message().find("layer and head counts") != std::string::npos);
  CHECK(broken(3, 99).message().find("f32 or f16") != std::string::npos);
  CHECK(broken(4 + 4, 7).message().find("unknown mode 7") != std::string::npos);
  CHECK(broken(4 + 4 + 1, 0).message().find("window head of 0") != std::string::npos);
  CHECK(broken(2, uint64_t(1) << 40).message().find("beyond 2^32") != std::string::npos);
  CHECK_FALSE(ParseSavedHeadLayout(std::span<const uint64_t>(shape.data(), 3)).ok());
  CHECK_FALSE(ParseSavedHeadLayout(std::span<const uint64_t>(shape.data(), shape.size() - 1)).ok());
}
