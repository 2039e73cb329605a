// Random keys and the brute-force top-k that the DCI tests (single- and multi-level) compare
// their searches against.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace floe::testing {

inline std::vector<float> Gaussian(std::mt19937& rng, size_t n, float sigma = 1.0f) {
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// The k ids in [lo, hi] with the largest q . key (row i of `keys` has id i), in double.
inline std::vector<uint32_t> BruteTopK(const std::vector<float>& keys, size_t dim, const float* q,
                                       uint32_t lo, uint32_t hi, size_t k) {
  std::vector<std::pair<double, uint32_t>> s;
  for (uint32_t i = lo; i <= hi; ++i) {
    double d = 0;
    for (size_t c = 0; c < dim; ++c) d += double(q[c]) * keys[i * dim + c];
    s.push_back({d, i});
  }
  std::sort(s.begin(), s.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < std::min(k, s.size()); ++i) ids.push_back(s[i].second);
  return ids;
}

}  // namespace floe::testing
