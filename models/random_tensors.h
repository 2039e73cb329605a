// Building blocks of the random-weight model generators (tests and benchmarks): a small,
// platform-independent random number generator and a helper that appends a generated tensor
// to a TensorSet whose storage the caller keeps.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "platform/base/dtype.h"
#include "platform/base/tensor_set.h"

namespace floe {

// splitmix64: fast, good enough for weights, identical on every platform.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float Uniform() { return float(Next() >> 40) * (1.0f / 16777216.0f); }  // [0, 1)
  float Symmetric(float a) { return (2.0f * Uniform() - 1.0f) * a; }      // [-a, a)

 private:
  uint64_t s_;
};

// Appends to *set a tensor of PyTorch `shape` filled by gen(flat index) and stored as dtype
// (F32, F16 or BF16); its bytes go to *storage, which must outlive the set.
template <class Gen>
void AppendGeneratedTensor(TensorSet* set, std::vector<std::unique_ptr<uint8_t[]>>* storage,
                           const std::string& name, std::vector<uint64_t> shape, DType dtype,
                           Gen gen) {
  NamedTensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  const size_t n = t.elements();
  t.bytes = n * DTypeSize(dtype);
  storage->emplace_back(new uint8_t[t.bytes]);
  uint8_t* p = storage->back().get();
  for (size_t i = 0; i < n; ++i) {
    const float v = gen(i);
    if (dtype == DType::kF32) {
      std::memcpy(p + 4 * i, &v, 4);
    } else {
      const uint16_t h = dtype == DType::kF16 ? F32ToF16(v) : F32ToBF16(v);
      std::memcpy(p + 2 * i, &h, 2);
    }
  }
  t.data = p;
  set->tensors.push_back(std::move(t));
}

}  // namespace floe
