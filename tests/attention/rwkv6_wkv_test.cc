// The chunk-parallel WKV (wkv6.h) against the plain recurrence, on random heads with decays from
// gentle to extreme (log w down to -60, where a product-of-exponentials form would overflow).
#include <cmath>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "attention/linear/wkv6.h"

using namespace floe;

namespace {

struct Inputs {
  size_t T, N;
  std::vector<float> r, k, v, lw, u, s0;
};

Inputs Random(size_t T, size_t N, float max_log_decay, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> x(-1.0f, 1.0f), d(0.0f, 1.0f);
  Inputs in{T, N, {}, {}, {}, {}, {}, {}};
  auto fill = [&](std::vector<float>& a, size_t n) {
    a.resize(n);
    for (auto& e : a) e = x(g);
  };
  fill(in.r, T * N);
  fill(in.k, T * N);
  fill(in.v, T * N);
  fill(in.u, N);
  fill(in.s0, N * N);
  in.lw.resize(T * N);
  // Mostly slow decays, some channels forgetting almost everything at each step.
  for (auto& e : in.lw) e = -(d(g) < 0.8f ? 0.05f : max_log_decay) * d(g);
  return in;
}

Wkv6Head Head(const Inputs& in, float* s_out, float* y) {
  Wkv6Head h;
  h.n = in.N;
  h.stride = in.N;
  h.r = in.r.data();
  h.k = in.k.data();
  h.v = in.v.data();
  h.lw = in.lw.data();
  h.u = in.u.data();
  h.s_in = in.s0.data();
  h.s_out = s_out;
  h.y = y;
  return h;
}

}  // namespace

TEST_CASE("WKV6 chunk form equals the recurrence", "[unit]") {
  for (size_t N : {8, 32, 64}) {
    for (size_t T : {1, 2, 5, 16, 64}) {
      for (float max_decay : {0.5f, 60.0f}) {
        INFO("N " << N << " T " << T << " max |log w| " << max_decay);
        const Inputs in = Random(T, N, max_decay, uint32_t(N * 1000 + T));
        std::vector<float> s_ref(N * N), y_ref(T * N), s_chk(N * N), y_chk(T * N);
        std::vector<float> scratch(std::max(N * N, Wkv6ChunkScratch(T, N)) + 16);
        Wkv6Recurrent(Head(in, s_ref.data(), y_ref.data()), T, scratch.data());
        std::vector<float> chunk_scratch(Wkv6ChunkScratch(T, N));
        Wkv6Chunk(Head(in, s_chk.data(), y_chk.data()), T, chunk_scratch.data());
        float dy = 0.0f, ds = 0.0f;
        for (size_t i = 0; i < y_ref.size(); ++i) dy = std::max(dy, std::fabs(y_ref[i] - y_chk[i]));
        for (size_t i = 0; i < s_ref.size(); ++i) ds = std::max(ds, std::fabs(s_ref[i] - s_chk[i]));
        CHECK(dy <= 2e-5f);
        CHECK(ds <= 2e-5f);
        for (float e : y_chk) REQUIRE(std::isfinite(e));
      }
    }
  }
}

TEST_CASE("WKV6 chunks carry the state exactly like one long recurrence", "[unit]") {
  const size_t N = 16, T = 96;
  const Inputs in = Random(T, N, 4.0f, 7);
  std::vector<float> s_ref(N * N), y_ref(T * N), scratch(N * N);
  Wkv6Recurrent(Head(in, s_ref.data(), y_ref.data()), T, scratch.data());
  // Three chunks of 32, the state handed from one to the next.
  std::vector<float> s_a = in.s0, s_b(N * N), y(T * N);
  std::vector<float> cs(Wkv6ChunkScratch(32, N));
  for (size_t c = 0; c < 3; ++c) {
    Wkv6Head h = Head(in, s_b.data(), y.data() + c * 32 * N);
    h.r += c * 32 * N;
    h.k += c * 32 * N;
    h.v += c * 32 * N;
    h.lw += c * 32 * N;
    h.s_in = s_a.data();
    Wkv6Chunk(h, 32, cs.data());
    std::swap(s_a, s_b);
  }
  float dy = 0.0f, ds = 0.0f;
  for (size_t i = 0; i < y.size(); ++i) dy = std::max(dy, std::fabs(y[i] - y_ref[i]));
  for (size_t i = 0; i < s_ref.size(); ++i) ds = std::max(ds, std::fabs(s_a[i] - s_ref[i]));
  CHECK(dy <= 1e-5f);
  CHECK(ds <= 1e-5f);
}
