// Reading the reference files tests compare against (raw float32 logits, token lists) and the
// max-abs comparison they use. Missing files fail the test (see test_data.h).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace floe::testing {

// float32 little-endian values, no header (logits.f32 files).
inline std::vector<float> ReadF32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  const std::vector<char> bytes((std::istreambuf_iterator<char>(f)),
                                std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() % 4 == 0);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

// Whitespace-separated decimal token ids (tokens.txt files).
inline std::vector<int32_t> ReadTokens(const std::string& path) {
  std::ifstream f(path);
  REQUIRE(f.good());
  std::vector<int32_t> t;
  for (int32_t x; f >> x;) t.push_back(x);
  return t;
}

inline float MaxAbsDiff(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace floe::testing
