// The cases of `floe parity ops` (parity_ops.h): for each op and shape, random inputs and three
// ways to compute the same outputs (all outputs of the op concatenated: y, then a state).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "platform/base/status.h"
#include "platform/gpu/backend_loader.h"

namespace floe::parity {

using Outputs = std::vector<float>;

struct Case {
  std::string op, shape;
  std::function<Outputs()> reference;  // scalar reference (double sums where it has them)
  std::function<Outputs()> cpu;        // floe's kernels, on the target the caller forces
  std::function<Result<Outputs>(const GpuBackend&)> backend;
};

// Uniform random floats in [lo, hi), from one seeded generator.
class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  std::vector<float> Floats(size_t n, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = d(g_);
    return v;
  }
  uint8_t Byte() { return uint8_t(g_() & 0xFF); }

 private:
  std::mt19937_64 g_;
};

// "rows=64,cols=256"
inline std::string Shape(std::initializer_list<std::pair<const char*, size_t>> dims) {
  std::string s;
  for (const auto& [k, v] : dims)
    s += (s.empty() ? "" : ",") + std::string(k) + "=" + std::to_string(v);
  return s;
}

// The backend's outputs, or its failure as a Status.
inline Result<Outputs> Done(const GpuBackend& b, int rc, const char* op, Outputs out) {
  Status st = b.Check(rc, op);
  if (!st.ok()) return st;
  return out;
}

// The cases of wkv6, lightning and selective_scan (parity_linear.cc); none for another name.
std::vector<Case> LinearAttentionCases(const std::string& op, uint64_t seed);

// Every case of op `name` (ParityOps()), inputs drawn from `seed`.
std::vector<Case> CasesOf(const std::string& name, uint64_t seed);

}  // namespace floe::parity
