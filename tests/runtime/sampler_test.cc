#include <cmath>
#include <limits>
#include <map>

#include "runtime/engine/sampler.h"
#include "test_data.h"

using namespace floe;

TEST_CASE("greedy sampling is the argmax, ties go to the lowest id", "[unit]") {
  SamplerParams p;
  p.temperature = 0;
  Sampler s(p);
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 2.0f};
  CHECK(s.Sample(logits, {}) == 1);
}

TEST_CASE("repetition penalty demotes recent tokens", "[unit]") {
  SamplerParams p;
  p.temperature = 0;
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  const std::vector<float> logits = {1.5f, 2.0f, -1.0f};
  const std::vector<int32_t> recent = {1};
  CHECK(s.Sample(logits, recent) == 0);  // 2.0 / 2 = 1.0 < 1.5
}

TEST_CASE("seeded sampling is reproducible and follows the distribution", "[unit]") {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 1234;
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  Sampler a(p), b(p);
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const int32_t x = a.Sample(logits, {});
    REQUIRE(x == b.Sample(logits, {}));
    counts[x]++;
  }
  CHECK(std::abs(counts[0] / double(n) - 0.5) < 0.02);
  CHECK(std::abs(counts[1] / double(n) - 0.3) < 0.02);
  CHECK(std::abs(counts[2] / double(n) - 0.2) < 0.02);
}

TEST_CASE("top-k, top-p and min-p truncate the candidates", "[unit]") {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f),
                                     std::log(0.05f)};
  auto support = [&](SamplerParams p) {
    p.temperature = 1.0f;
    Sampler s(p);
    std::map<int32_t, int> seen;
    for (int i = 0; i < 4000; ++i) seen[s.Sample(logits, {})]++;
    return seen.size();
  };
  SamplerParams k;
  k.top_k = 2;
  k.top_p = 1;
  k.min_p = 0;
  CHECK(support(k) == 2);
  SamplerParams tp;
  tp.top_k = 0;
  tp.top_p = 0.75f;
  tp.min_p = 0;
  CHECK(support(tp) == 2);  // 0.5 + 0.3 >= 0.75
  SamplerParams mp;
  mp.top_k = 0;
  mp.top_p = 1;
  mp.min_p = 0.25f;
  CHECK(support(mp) == 3);  // 0.15 >= 0.25 * 0.5, 0.05 is not
}

TEST_CASE("bad sampler settings are rejected", "[unit]") {
  SamplerParams p;
  p.top_p = 0;
  CHECK_FALSE(p.Validate().ok());
  p = {};
  p.min_p = 2;
  CHECK_FALSE(p.Validate().ok());
  p = {};
  p.repeat_penalty = 0;
  CHECK_FALSE(p.Validate().ok());
  p = {};
  p.temperature = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(p.Validate().ok());
}

TEST_CASE("sampler settings outside their meaning are errors, not read as off", "[unit]") {
  // Issue 27 item 5: --top-p 2, --temp -1 and --top-k -1 were accepted silently.
  SamplerParams p;
  p.top_p = 2;
  CHECK(p.Validate().message().find("top_p") != std::string::npos);
  p = {};
  p.temperature = -1;
  CHECK(p.Validate().message().find("temperature") != std::string::npos);
  p = {};
  p.top_k = -1;
  CHECK(p.Validate().message().find("top_k") != std::string::npos);
  p = {};  // the sentinels that switch a stage off stay valid
  p.temperature = 0;
  p.top_k = 0;
  p.top_p = 1;
  CHECK(p.Validate().ok());
}

// Issue 29 item 7. The frequencies below are over 20000 draws: a probability p has a standard
// deviation sqrt(p (1 - p) / 20000) <= 0.0036, so 0.02 is more than 5 sigma.
TEST_CASE("temperature T samples softmax(logits / T)", "[unit]") {
  const std::vector<double> p0 = {0.5, 0.3, 0.2};
  const std::vector<float> logits = {float(std::log(p0[0])), float(std::log(p0[1])),
                                     float(std::log(p0[2]))};
  for (float t : {0.5f, 2.0f}) {
    SamplerParams p;
    p.temperature = t;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 99;
    Sampler s(p);
    // softmax(log p / T) = p^(1/T) / sum p^(1/T)
    double z = 0;
    std::vector<double> want(3);
    for (size_t i = 0; i < 3; ++i) z += (want[i] = std::pow(p0[i], 1.0 / double(t)));
    std::map<int32_t, int> counts;
    const int n = 20000;
    for (int i = 0; i < n; ++i) counts[s.Sample(logits, {})]++;
    for (int32_t i = 0; i < 3; ++i) {
      INFO("T " << t << ", token " << i << ": want " << want[size_t(i)] / z);
      CHECK(std::abs(counts[i] / double(n) - want[size_t(i)] / z) < 0.02);
    }
  }
}

TEST_CASE("different seeds give different draws", "[unit]") {
  // Four equally likely tokens: two seeds agree on all 64 draws with probability 4^-64.
  const std::vector<float> logits = {0.0f, 0.0f, 0.0f, 0.0f};
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  std::vector<int32_t> draws[2];
  for (uint64_t seed : {uint64_t{1}, uint64_t{2}}) {
    p.seed = seed;
    Sampler s(p);
    for (int i = 0; i < 64; ++i) draws[seed - 1].push_back(s.Sample(logits, {}));
  }
  CHECK(draws[0] != draws[1]);
}

TEST_CASE("repetition penalty multiplies negative logits (llama.cpp's rule)", "[unit]") {
  SamplerParams p;
  p.temperature = 0;
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  // Token 0 was seen: -1.0 x 2 = -2.0 < -1.5, so token 1 wins. Dividing instead (-0.5) would
  // promote the repeated token.
  const std::vector<float> logits = {-1.0f, -1.5f};
  const std::vector<int32_t> recent = {0};
  CHECK(s.Sample(logits, recent) == 1);
  // Only the last repeat_last_n tokens count: token 0 seen long ago is not penalised.
  p.repeat_last_n = 2;
  Sampler s2(p);
  const std::vector<float> three = {-1.0f, -1.5f, -9.0f};
  const std::vector<int32_t> old = {0, 2, 2};
  CHECK(s2.Sample(three, old) == 0);  // penalising token 0 (-2.0) would make token 1 win
}

TEST_CASE("repetition penalty applies once per distinct token, however often it occurs",
          "[unit]") {
  // llama.cpp divides (or multiplies) a token's logit once when its count in the window is > 0.
  SamplerParams p;
  p.temperature = 0;
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  const std::vector<float> logits = {3.0f, 1.0f};
  const std::vector<int32_t> twice = {0, 0};
  CHECK(s.Sample(logits, twice) == 0);  // 3.0 / 2 = 1.5 > 1.0 (twice: 0.75 < 1.0)
}
