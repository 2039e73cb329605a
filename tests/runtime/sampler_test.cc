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
