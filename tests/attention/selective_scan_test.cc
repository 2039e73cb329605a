// The selective scan (attention/linear/selective_scan.h): the Highway kernel on every compiled
// target against the scalar reference, over channel counts that are and are not multiples of the
// vector width, channel sub-ranges (as threads split them) and chunks carrying the state.
#include <cmath>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "attention/linear/selective_scan.h"
#include "kernel_targets_util.h"

using namespace floe;

namespace {

struct Inputs {
  size_t T, Di, N;
  std::vector<float> u, delta, bc, z, A, D, state;
};

Inputs Random(size_t T, size_t Di, size_t N, uint32_t seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> x(-1.0f, 1.0f), p(0.0f, 1.0f);
  Inputs in{T, Di, N, {}, {}, {}, {}, {}, {}, {}};
  auto fill = [&](std::vector<float>& a, size_t n, auto gen) {
    a.resize(n);
    for (auto& e : a) e = gen();
  };
  fill(in.u, T * Di, [&] { return 2.0f * x(g); });
  // Step sizes from tiny to large (delta * A down to about -150: exp underflows to 0).
  fill(in.delta, T * Di, [&] { return p(g) < 0.9f ? 0.5f * p(g) : 10.0f * p(g); });
  fill(in.bc, T * 2 * N, [&] { return x(g); });
  fill(in.z, T * Di, [&] { return 3.0f * x(g); });
  fill(in.A, N * Di, [&] { return -15.0f * p(g); });
  fill(in.D, Di, [&] { return 1.0f + 0.1f * x(g); });
  fill(in.state, N * Di, [&] { return x(g); });
  return in;
}

SelectiveScanArgs Args(const Inputs& in, float* state, float* y, bool gate) {
  SelectiveScanArgs a;
  a.d_inner = in.Di;
  a.d_state = in.N;
  a.u = in.u.data();
  a.u_stride = in.Di;
  a.delta = in.delta.data();
  a.delta_stride = in.Di;
  a.B = in.bc.data();
  a.C = in.bc.data() + in.N;
  a.bc_stride = 2 * in.N;
  a.z = gate ? in.z.data() : nullptr;
  a.z_stride = in.Di;
  a.A = in.A.data();
  a.D = in.D.data();
  a.state = state;
  a.y = y;
  a.y_stride = in.Di;
  return a;
}

float MaxRel(const std::vector<float>& a, const std::vector<float>& b) {
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i)
    m = std::max(m, std::fabs(a[i] - b[i]) / std::max(1.0f, std::fabs(a[i])));
  return m;
}

}  // namespace

TEST_CASE("selective scan kernel equals the scalar reference on every target", "[unit]") {
  ForEachTarget([] {
    for (size_t Di : {1, 7, 16, 37, 128}) {
      for (size_t N : {1, 16}) {
        for (size_t T : {1, 5, 33}) {
          for (bool gate : {true, false}) {
            INFO("d_inner " << Di << " d_state " << N << " T " << T << " gate " << gate);
            const Inputs in = Random(T, Di, N, uint32_t(Di * 131 + N * 7 + T));
            std::vector<float> s_ref = in.state, s_vec = in.state;
            std::vector<float> y_ref(T * Di, 0.0f), y_vec(T * Di, -1.0f);
            SelectiveScanReference(Args(in, s_ref.data(), y_ref.data(), gate), T, 0, Di);
            // The vector kernel over two channel ranges, as two threads would run it.
            const size_t mid = Di / 3;
            SelectiveScan(Args(in, s_vec.data(), y_vec.data(), gate), T, 0, mid);
            SelectiveScan(Args(in, s_vec.data(), y_vec.data(), gate), T, mid, Di);
            CHECK(MaxRel(y_ref, y_vec) <= 1e-5f);
            CHECK(MaxRel(s_ref, s_vec) <= 1e-5f);
            for (float e : y_vec) REQUIRE(std::isfinite(e));
          }
        }
      }
    }
  });
}

TEST_CASE("selective scan touches only its channel range", "[unit]") {
  const size_t T = 4, Di = 40, N = 16;
  const Inputs in = Random(T, Di, N, 3);
  std::vector<float> s = in.state, y(T * Di, 7.0f);
  SelectiveScan(Args(in, s.data(), y.data(), true), T, 5, 21);
  for (size_t n = 0; n < N; ++n)
    for (size_t d = 0; d < Di; ++d)
      if (d < 5 || d >= 21) CHECK(s[n * Di + d] == in.state[n * Di + d]);
  for (size_t t = 0; t < T; ++t)
    for (size_t d = 0; d < Di; ++d)
      if (d < 5 || d >= 21) CHECK(y[t * Di + d] == 7.0f);
}

TEST_CASE("selective scan in chunks equals one scan over the whole sequence", "[unit]") {
  const size_t T = 50, Di = 48, N = 16;
  const Inputs in = Random(T, Di, N, 11);
  std::vector<float> s_one = in.state, y_one(T * Di);
  SelectiveScan(Args(in, s_one.data(), y_one.data(), true), T, 0, Di);
  std::vector<float> s_chunk = in.state, y_chunk(T * Di);
  for (size_t t0 = 0; t0 < T; t0 += 7) {
    const size_t n = std::min<size_t>(7, T - t0);
    SelectiveScanArgs a = Args(in, s_chunk.data(), y_chunk.data() + t0 * Di, true);
    a.u += t0 * Di;
    a.delta += t0 * Di;
    a.B += t0 * 2 * N;
    a.C += t0 * 2 * N;
    a.z += t0 * Di;
    SelectiveScan(a, n, 0, Di);
  }
  CHECK(y_chunk == y_one);  // same arithmetic per token, whatever the chunking
  CHECK(s_chunk == s_one);
}

TEST_CASE("selective scan adds delta_bias and applies softplus as torch does", "[unit]") {
  // The reference against the step sizes worked out beforehand with torch's softplus
  // (threshold 20), then the vector kernel against the reference on every target.
  const size_t T = 9, Di = 37, N = 16;
  Inputs in = Random(T, Di, N, 29);
  std::vector<float> bias(Di);
  for (size_t d = 0; d < Di; ++d) bias[d] = -30.0f + 55.0f * float(d) / float(Di - 1);  // -30..25
  for (size_t i = 0; i < in.delta.size(); ++i) in.delta[i] = 4.0f * in.delta[i] - 2.0f;
  Inputs pre = in;  // softplus(delta + bias) computed here
  for (size_t t = 0; t < T; ++t)
    for (size_t d = 0; d < Di; ++d) {
      const float x = in.delta[t * Di + d] + bias[d];
      pre.delta[t * Di + d] = x > 20.0f ? x : std::log1p(std::exp(x));
    }
  std::vector<float> s_pre = in.state, y_pre(T * Di);
  SelectiveScanReference(Args(pre, s_pre.data(), y_pre.data(), true), T, 0, Di);
  std::vector<float> s_ref = in.state, y_ref(T * Di);
  SelectiveScanArgs r = Args(in, s_ref.data(), y_ref.data(), true);
  r.delta_bias = bias.data();
  r.delta_softplus = true;
  SelectiveScanReference(r, T, 0, Di);
  CHECK(y_ref == y_pre);
  CHECK(s_ref == s_pre);
  ForEachTarget([&] {
    std::vector<float> s_vec = in.state, y_vec(T * Di, -1.0f);
    SelectiveScanArgs v = Args(in, s_vec.data(), y_vec.data(), true);
    v.delta_bias = bias.data();
    v.delta_softplus = true;
    SelectiveScan(v, T, 0, 20);
    SelectiveScan(v, T, 20, Di);
    CHECK(MaxRel(y_ref, y_vec) <= 1e-5f);
    CHECK(MaxRel(s_ref, s_vec) <= 1e-5f);
  });
}
