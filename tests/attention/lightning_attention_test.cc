// The Lightning Attention kernel (attention/linear/lightning_attention.h) three ways: the block
// form (in chunks of many sizes, including chunks split into several blocks), the recurrence, and a
// plain O(T^2) quadratic reference written here in double,
//   o_t = sum_{s<=t} lambda^(t-s) (q_t . k_s) v_s,
// with decay rates from the official slopes, on sequences crossing many block boundaries; and
// the state of the slowest heads over long sequences against an exact recurrence.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "attention/linear/lightning_attention.h"

using namespace floe;

namespace {

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

float MaxAbs(const std::vector<float>& a) {
  float m = 0.0f;
  for (float v : a) m = std::max(m, std::fabs(v));
  return m;
}

struct Seq {
  size_t T, dk, dv;
  std::vector<float> q, k, v;
};

Seq RandomSeq(size_t T, size_t dk, size_t dv, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> x(-1.0f, 1.0f);
  Seq s{T, dk, dv, {}, {}, {}};
  auto fill = [&](std::vector<float>& a, size_t n) {
    a.resize(n);
    for (auto& e : a) e = x(g);
  };
  fill(s.q, T * dk);
  fill(s.k, T * dk);
  fill(s.v, T * dv);
  return s;
}

// The quadratic reference in double, from an empty state.
std::vector<float> Naive(const Seq& s, float log_decay) {
  std::vector<float> o(s.T * s.dv);
  std::vector<double> acc(s.dv);
  for (size_t t = 0; t < s.T; ++t) {
    std::fill(acc.begin(), acc.end(), 0.0);
    for (size_t u = 0; u <= t; ++u) {
      double qk = 0.0;
      for (size_t i = 0; i < s.dk; ++i) qk += double(s.q[t * s.dk + i]) * s.k[u * s.dk + i];
      const double w = std::exp(double(t - u) * log_decay) * qk;
      for (size_t j = 0; j < s.dv; ++j) acc[j] += w * s.v[u * s.dv + j];
    }
    for (size_t j = 0; j < s.dv; ++j) o[t * s.dv + j] = float(acc[j]);
  }
  return o;
}

// The whole sequence in chunks of B tokens (B == 0: one LightningRecurrent call per token),
// the state carried between calls. Returns the outputs; *state gets the final state.
std::vector<float> Blocks(const Seq& s, float log_decay, size_t B, std::vector<float>* state) {
  std::vector<float> o(s.T * s.dv), a(s.dk * s.dv, 0.0f), b(s.dk * s.dv),
      scratch(LightningChunkScratch(B ? B : 1, s.dk, s.dv));
  const size_t step = B ? B : 1;
  for (size_t t0 = 0; t0 < s.T; t0 += step) {
    const size_t n = std::min(step, s.T - t0);
    LightningHead h;
    h.dk = s.dk;
    h.dv = s.dv;
    h.q = s.q.data() + t0 * s.dk;
    h.k = s.k.data() + t0 * s.dk;
    h.v = s.v.data() + t0 * s.dv;
    h.o = o.data() + t0 * s.dv;
    h.q_stride = h.k_stride = s.dk;
    h.v_stride = h.o_stride = s.dv;
    h.log_decay = log_decay;
    h.s_in = a.data();
    h.s_out = b.data();
    if (B == 0)
      LightningRecurrent(h, n);
    else
      LightningChunk(h, n, scratch.data());  // splits blocks over kLightningMaxBlock
    a.swap(b);
  }
  *state = a;
  return o;
}

}  // namespace

TEST_CASE("Lightning block form == recurrence == quadratic reference (kernel)", "[unit]") {
  // Decay rates of the official slopes (fast head of layer 0, slow head, the last layer's
  // 1e-5 scaling) and one so fast that lambda^B underflows to 0 inside a block.
  for (float rate : {0.70710678f, 0.00390625f, 3.9e-8f, 12.0f}) {
    for (size_t dk : {16, 32}) {
      const size_t T = 333, dv = 16;
      const Seq s = RandomSeq(T, dk, dv, uint32_t(dk * 7 + size_t(rate * 1000)));
      const auto ref = Naive(s, -rate);
      const float tol = 1e-5f * std::max(1.0f, MaxAbs(ref));
      std::vector<float> rec_state;
      const auto rec = Blocks(s, -rate, 0, &rec_state);
      INFO("rate " << rate << " dk " << dk);
      CHECK(MaxAbsDiff(rec, ref) <= tol);
      for (size_t B : {1, 3, 16, 64, 256, 333}) {  // 333: blocks of 256 + 77 inside one chunk
        INFO("block " << B);
        std::vector<float> st;
        CHECK(MaxAbsDiff(Blocks(s, -rate, B, &st), ref) <= tol);
        CHECK(MaxAbsDiff(st, rec_state) <= 1e-5f * std::max(1.0f, MaxAbs(rec_state)));
      }
      // One call to LightningRecurrent over all T tokens (the in-place path).
      std::vector<float> o(T * dv), zero(dk * dv, 0.0f), out(dk * dv);
      LightningHead h;
      h.dk = dk;
      h.dv = dv;
      h.q = s.q.data();
      h.k = s.k.data();
      h.v = s.v.data();
      h.o = o.data();
      h.q_stride = h.k_stride = dk;
      h.v_stride = h.o_stride = dv;
      h.log_decay = -rate;
      h.s_in = zero.data();
      h.s_out = out.data();
      LightningRecurrent(h, T);
      CHECK(o == rec);
      CHECK(out == rec_state);
    }
  }
}

TEST_CASE("Lightning state stays unbiased for the slowest heads over long sequences", "[unit]") {
  // The last layer's heads decay at ~1e-8 per token, where float lambda is off by up to
  // 3e-8; the state must still follow the exact recurrence (here in double) over 20k tokens.
  const size_t T = 20000, dk = 8, dv = 8;
  for (float rate : {3.9e-8f, 2.4e-6f}) {
    const Seq s = RandomSeq(T, dk, dv, 99);
    std::vector<double> exact(dk * dv, 0.0);
    const double lambda = std::exp(-double(rate));
    for (size_t t = 0; t < T; ++t)
      for (size_t i = 0; i < dk; ++i)
        for (size_t j = 0; j < dv; ++j)
          exact[i * dv + j] =
              lambda * exact[i * dv + j] + double(s.k[t * dk + i]) * s.v[t * dv + j];
    const std::vector<float> want(exact.begin(), exact.end());
    const float scale = MaxAbs(want);
    for (size_t B : {0, 1, 7, 64, 1000}) {
      INFO("rate " << rate << " block " << B << " (0 = recurrent)");
      std::vector<float> st;
      Blocks(s, -rate, B, &st);
      CHECK(MaxAbsDiff(st, want) <= 1e-5f * scale);
    }
  }
}
