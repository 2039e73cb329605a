// The kernels of platform/kernels/search.h against their scalar references (reference.h) on
// every compiled Highway target, exactly (they compare and copy), and the references against
// hand-worked cases.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "kernel_targets_util.h"
#include "platform/kernels/reference.h"
#include "platform/kernels/search.h"

using namespace floe;

namespace {

// n records sorted by value, with runs of equal values (ties), ids a permutation of
// [first_id, first_id + n).
std::vector<ValueId> SortedRecords(std::mt19937& rng, size_t n, uint32_t first_id) {
  std::vector<ValueId> r(n);
  std::uniform_real_distribution<float> v(-4.0f, 4.0f);
  for (size_t i = 0; i < n; ++i)
    r[i] = {i % 7 == 3 && i > 0 ? r[i - 1].value : v(rng), first_id + uint32_t(i)};
  std::shuffle(r.begin(), r.end(), rng);
  // Equal values stay equal after the shuffle; sort by (value, id) as the lists are kept.
  std::sort(r.begin(), r.end(), [](const ValueId& a, const ValueId& b) {
    return a.value < b.value || (a.value == b.value && a.id < b.id);
  });
  return r;
}

struct Collected {
  RunCollected run;
  std::vector<uint32_t> ids;
};

template <class Fn>
Collected Run(Fn fn, size_t max_out) {
  Collected c;
  c.ids.assign(max_out + kCollectSlack, 0xDEADBEEFu);
  c.run = fn(c.ids.data());
  c.ids.resize(c.run.written);
  return c;
}

}  // namespace

TEST_CASE("CollectRun references on hand-worked runs", "[unit]") {
  const ValueId r[] = {{1.0f, 10}, {2.0f, 20}, {3.0f, 30}, {4.0f, 40}, {5.0f, 50}};
  uint32_t out[8] = {};
  // Forward from value 3 with target 2.5, tau 1: 3 (0.5) is inside, 4 (1.5) is not.
  RunCollected f = reference::CollectRunForward(r + 2, 3, 2.5f, 1.0f, 0, 100, 8, out);
  CHECK(f.consumed == 1);
  REQUIRE(f.written == 1);
  CHECK(out[0] == 30);
  // Backward from one past value 2: 2 (0.5) is inside, 1 (1.5) is not.
  RunCollected b = reference::CollectRunBackward(r + 2, 2, 2.5f, 1.0f, 0, 100, 8, out);
  CHECK(b.consumed == 1);
  REQUIRE(b.written == 1);
  CHECK(out[0] == 20);
  // tau 2.6 forward takes 3, 4, 5; ids outside [25, 45] are skipped but still taken.
  f = reference::CollectRunForward(r + 2, 3, 2.5f, 2.6f, 25, 20, 8, out);
  CHECK(f.consumed == 3);
  REQUIRE(f.written == 2);
  CHECK((out[0] == 30 && out[1] == 40));
  // At most one id: the scan stops right after it (record 5 is not taken).
  f = reference::CollectRunForward(r + 2, 3, 2.5f, 2.6f, 0, 100, 1, out);
  CHECK((f.consumed == 1 && f.written == 1 && out[0] == 30));
  // Backward from the end of all five, target 6, tau 3.5: 5, 4, 3 inside (ids in scan order).
  b = reference::CollectRunBackward(r + 5, 5, 6.0f, 3.5f, 0, 100, 8, out);
  CHECK(b.consumed == 3);
  REQUIRE(b.written == 3);
  CHECK((out[0] == 50 && out[1] == 40 && out[2] == 30));
}

TEST_CASE("CollectRunForward and CollectRunBackward match the reference on every target",
          "[unit]") {
  std::mt19937 rng(7);
  const uint32_t kFirst = 1000;
  for (const size_t n : {0, 1, 7, 15, 16, 17, 31, 32, 33, 100, 257, 513}) {
    const std::vector<ValueId> rec = SortedRecords(rng, n, kFirst);
    for (int trial = 0; trial < 24; ++trial) {
      const size_t start = n == 0 ? 0 : size_t(rng() % (n + 1));
      // Targets inside and outside the values, on a record's value (ties) or between.
      float target = std::uniform_real_distribution<float>(-5.0f, 5.0f)(rng);
      if (trial % 4 == 1 && n > 0) target = rec[std::min(start, n - 1)].value;
      const float taus[] = {0.0f, 0.05f, 0.5f, 3.0f, std::numeric_limits<float>::infinity()};
      const float tau = taus[trial % 5];
      // Eligible id ranges: all, none, a middle slice, and the whole 32-bit range.
      uint32_t lo = kFirst, span = uint32_t(n);
      if (trial % 6 == 1) lo = kFirst + uint32_t(n) + 5, span = 3;
      if (trial % 6 == 2) lo = kFirst + uint32_t(n / 3), span = uint32_t(n / 3);
      if (trial % 6 == 3) lo = 0, span = std::numeric_limits<uint32_t>::max();
      const size_t caps[] = {0, 1, 5, 16, 1000};
      const size_t max_out = caps[trial % 5 == 0 ? (trial / 5) % 5 : 4];
      INFO("n " << n << " start " << start << " target " << target << " tau " << tau << " lo " << lo
                << " span " << span << " max_out " << max_out);
      const Collected ref_f = Run(
          [&](uint32_t* o) {
            return reference::CollectRunForward(rec.data() + start, n - start, target, tau, lo,
                                                span, max_out, o);
          },
          max_out);
      const Collected ref_b = Run(
          [&](uint32_t* o) {
            return reference::CollectRunBackward(rec.data() + start, start, target, tau, lo, span,
                                                 max_out, o);
          },
          max_out);
      ForEachTarget([&] {
        const Collected f = Run(
            [&](uint32_t* o) {
              return CollectRunForward(rec.data() + start, n - start, target, tau, lo, span,
                                       max_out, o);
            },
            max_out);
        CHECK(f.run.consumed == ref_f.run.consumed);
        CHECK(f.run.written == ref_f.run.written);
        CHECK(f.ids == ref_f.ids);
        const Collected b = Run(
            [&](uint32_t* o) {
              return CollectRunBackward(rec.data() + start, start, target, tau, lo, span, max_out,
                                        o);
            },
            max_out);
        CHECK(b.run.consumed == ref_b.run.consumed);
        CHECK(b.run.written == ref_b.run.written);
        CHECK(b.ids == ref_b.ids);
      });
    }
  }
}

TEST_CASE("FindStampedInAll reference on a hand-worked case", "[unit]") {
  // Two maps over ids [100, 106): entry x is id 100 + x.
  uint8_t a[6 + kStampMapPad] = {5, 5, 0, 5, 4, 5};
  uint8_t b[6 + kStampMapPad] = {5, 0, 0, 5, 5, 5};
  const uint8_t* maps[] = {a, b};
  const uint32_t ids[] = {105, 101, 103, 100, 104};
  uint32_t hits[8] = {};
  // Stamped (5) in both: 105, 103, 100 (positions 0, 2, 3).
  REQUIRE(reference::FindStampedInAll(ids, 5, 100, maps, 2, 5, hits) == 3);
  CHECK((hits[0] == 0 && hits[1] == 2 && hits[2] == 3));
  // In `a` alone: also 101.
  REQUIRE(reference::FindStampedInAll(ids, 5, 100, maps, 1, 5, hits) == 4);
  CHECK((hits[0] == 0 && hits[1] == 1 && hits[2] == 2 && hits[3] == 3));
  // No maps: every position.
  CHECK(reference::FindStampedInAll(ids, 5, 100, maps, 0, 5, hits) == 5);
}

TEST_CASE("FindStampedInAll matches the reference on every target", "[unit]") {
  std::mt19937 rng(11);
  const uint32_t lo = 77;
  for (const size_t len : {1, 40, 1000}) {
    for (const size_t n_maps : {0, 1, 2, 3}) {
      // Entries stamped 9 with probability ~2/3, else another stamp or 0; map t's last entry
      // sits right before the padding.
      std::vector<std::vector<uint8_t>> storage(n_maps,
                                                std::vector<uint8_t>(len + kStampMapPad, 0xAB));
      std::vector<const uint8_t*> maps;
      for (auto& m : storage) {
        for (size_t x = 0; x < len; ++x) m[x] = rng() % 3 ? 9 : uint8_t(rng() % 2 ? 8 : 0);
        maps.push_back(m.data());
      }
      for (const size_t n : {0, 1, 15, 16, 17, 100, 513}) {
        // Distinct ids in [lo, lo + len) in random order (at most len of them), the last entry
        // included where it fits.
        std::vector<uint32_t> all(len);
        for (size_t x = 0; x < len; ++x) all[x] = lo + uint32_t(x);
        std::shuffle(all.begin(), all.end(), rng);
        const size_t count = std::min(n, len);
        std::vector<uint32_t> ids(all.begin(), all.begin() + count);
        if (count > 0 && std::find(ids.begin(), ids.end(), lo + uint32_t(len - 1)) == ids.end())
          ids[0] = lo + uint32_t(len - 1);
        INFO("len " << len << " maps " << n_maps << " n " << count);
        std::vector<uint32_t> ref(count + kCollectSlack);
        ref.resize(
            reference::FindStampedInAll(ids.data(), count, lo, maps.data(), n_maps, 9, ref.data()));
        ForEachTarget([&] {
          std::vector<uint32_t> got(count + kCollectSlack);
          got.resize(FindStampedInAll(ids.data(), count, lo, maps.data(), n_maps, 9, got.data()));
          CHECK(got == ref);
        });
      }
    }
  }
}

TEST_CASE("LaneGroupMaxima16 and LaneOffers16 references on a hand-worked case", "[unit]") {
  constexpr size_t L = kSelectLanes;
  const float inf = std::numeric_limits<float>::infinity(),
              nan = std::numeric_limits<float>::quiet_NaN();
  // Three rows (ids 5, 9, 2); lane 0 admits ids < 6, lane 1 ids < 10, the other lanes nothing.
  const uint32_t ids[] = {5, 9, 2};
  uint32_t lim[L] = {6, 10};
  float scores[3 * L] = {};
  const float lane0[] = {1.0f, 7.0f, nan}, lane1[] = {-inf, 3.0f, 2.0f};
  for (size_t i = 0; i < 3; ++i) {
    scores[i * L] = lane0[i];
    scores[i * L + 1] = lane1[i];
    for (size_t g = 2; g < L; ++g) scores[i * L + g] = 100.0f;
  }
  float maxima[2 * L];
  // Groups of 2 rows: {5, 9}, {2}.
  REQUIRE(reference::LaneGroupMaxima16(scores, ids, 3, lim, 2, maxima) == 2);
  CHECK(maxima[0] == 1.0f);  // 7 has id 9, not admitted by lane 0
  CHECK(maxima[1] == 3.0f);
  CHECK(maxima[L] == -inf);  // NaN does not raise a maximum
  CHECK(maxima[L + 1] == 2.0f);
  CHECK(maxima[2] == -inf);  // a lane that admits nothing
  float cut[L];
  std::fill(cut, cut + L, 0.0f);
  cut[1] = 2.5f;
  uint16_t masks[3];
  size_t admitted[L] = {};
  reference::LaneOffers16(scores, ids, 3, lim, cut, masks, admitted);
  CHECK(masks[0] == 1);  // lane 0: 1 >= 0; lane 1: -inf < 2.5
  CHECK(masks[1] == 2);  // lane 0 does not admit id 9; lane 1: 3 >= 2.5
  CHECK(masks[2] == 1);  // lane 0: NaN is offered; lane 1: 2 < 2.5
  CHECK((admitted[0] == 2 && admitted[1] == 3 && admitted[2] == 0));
}

TEST_CASE("LaneGroupMaxima16 and LaneOffers16 match the reference on every target", "[unit]") {
  constexpr size_t L = kSelectLanes;
  std::mt19937 rng(11);
  const float inf = std::numeric_limits<float>::infinity(),
              nan = std::numeric_limits<float>::quiet_NaN();
  for (const size_t n : {0, 1, 5, 16, 33, 300, 1025}) {
    std::vector<uint32_t> ids(n);
    std::vector<float> scores(n * L);
    for (size_t i = 0; i < n; ++i) ids[i] = uint32_t(rng() % 2000);
    for (size_t i = 0; i < n * L; ++i) {
      const uint32_t r = rng() % 50;
      // Ties (a few values), NaN and infinities among ordinary scores.
      scores[i] = r == 0   ? nan
                  : r == 1 ? -inf
                  : r == 2 ? inf
                  : r < 10 ? float(r % 3)
                           : std::normal_distribution<float>()(rng);
    }
    uint32_t lim[L];
    float cut[L];
    for (size_t g = 0; g < L; ++g) {
      const uint32_t lims[] = {0, 1, 1000, 2000, 0xFFFFFFFFu};
      lim[g] = g < 5 ? lims[g] : uint32_t(rng() % 2100);
      cut[g] = g == 3 ? -inf : g == 4 ? nan : std::normal_distribution<float>()(rng);
    }
    for (const size_t per : {1, 3, 64}) {
      INFO("n " << n << " per " << per);
      const size_t groups = (n + per - 1) / per;
      std::vector<float> ref_max(groups * L), got_max(groups * L);
      REQUIRE(reference::LaneGroupMaxima16(scores.data(), ids.data(), n, lim, per,
                                           ref_max.data()) == groups);
      std::vector<uint16_t> ref_masks(n), got_masks(n);
      size_t ref_adm[L] = {}, got_adm[L];
      reference::LaneOffers16(scores.data(), ids.data(), n, lim, cut, ref_masks.data(), ref_adm);
      ForEachTarget([&] {
        REQUIRE(LaneGroupMaxima16(scores.data(), ids.data(), n, lim, per, got_max.data()) ==
                groups);
        for (size_t i = 0; i < groups * L; ++i) {
          INFO("maximum " << i);
          CHECK(got_max[i] == ref_max[i]);  // never NaN
        }
        std::fill(got_adm, got_adm + L, size_t(7));  // the kernel adds
        got_masks.assign(n, 0xFFFF);
        LaneOffers16(scores.data(), ids.data(), n, lim, cut, got_masks.data(), got_adm);
        CHECK(got_masks == ref_masks);
        for (size_t g = 0; g < L; ++g) CHECK(got_adm[g] == ref_adm[g] + 7);
      });
    }
  }
}

TEST_CASE(
    "NearestRow16 on a hand-worked case: the nearest row, ties to the earlier, padding ignored",
    "[unit]") {
  constexpr size_t L = kRowBlock, dim = 2;
  const float inf = std::numeric_limits<float>::infinity();
  // Rows (block-major): row 0 (1, 0), row 1 (0, 1), row 2 (1, 0) again, row 17 (3, 3); the rest
  // are padding (sq = +inf).
  std::vector<float> blocks(2 * dim * L, 0.0f), sq(2 * L, inf);
  auto put = [&](size_t j, float a, float b) {
    blocks[((j / L) * dim + 0) * L + j % L] = a;
    blocks[((j / L) * dim + 1) * L + j % L] = b;
    sq[j] = a * a + b * b;
  };
  put(0, 1, 0);
  put(1, 0, 1);
  put(2, 1, 0);
  put(17, 3, 3);
  const float near0[] = {0.9f, 0.1f}, near1[] = {0.2f, 0.8f}, far[] = {2.5f, 2.0f};
  ForEachTarget([&] {
    CHECK(NearestRow16(near0, blocks.data(), sq.data(), dim, 2) == 0);  // row 2 ties with row 0
    CHECK(NearestRow16(near1, blocks.data(), sq.data(), dim, 2) == 1);
    CHECK(NearestRow16(far, blocks.data(), sq.data(), dim, 2) == 17);
    CHECK(NearestRow16(far, blocks.data(), sq.data(), dim, 1) == 0);  // one block: rows 0..15
  });
}

TEST_CASE("NearestRow16 matches double-precision distances on every target", "[unit]") {
  constexpr size_t L = kRowBlock;
  std::mt19937 rng(5);
  std::normal_distribution<float> nd;
  for (const size_t dim : {1, 7, 32, 64, 128}) {
    for (const size_t n : {1, 15, 16, 17, 100, 1000}) {
      const size_t nb = (n + L - 1) / L;
      std::vector<float> blocks(nb * dim * L, 0.0f),
          sq(nb * L, std::numeric_limits<float>::infinity());
      for (size_t j = 0; j < n; ++j) {
        double s = 0;
        for (size_t c = 0; c < dim; ++c) {
          const float v = nd(rng);
          blocks[((j / L) * dim + c) * L + j % L] = v;
          s += double(v) * v;
        }
        sq[j] = float(s);
      }
      std::vector<double> dist(nb * L);
      for (int t = 0; t < 20; ++t) {
        std::vector<float> x(dim);
        for (float& v : x) v = nd(rng);
        reference::RowDistances16(x.data(), blocks.data(), sq.data(), dim, nb, dist.data());
        const size_t want = size_t(std::min_element(dist.begin(), dist.end()) - dist.begin());
        ForEachTarget([&] {
          const size_t got = NearestRow16(x.data(), blocks.data(), sq.data(), dim, nb);
          INFO("dim " << dim << " n " << n << " want " << want << " got " << got);
          REQUIRE(got < n);
          // The chosen row is the nearest up to float rounding of the distances.
          CHECK(dist[got] <= dist[want] + 1e-4 * (1.0 + std::abs(dist[want])));
        });
      }
    }
  }
}
