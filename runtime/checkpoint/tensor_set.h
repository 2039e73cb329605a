// Named tensors read from a checkpoint file that is not GGUF (rwkv.cpp .bin, PyTorch .pth /
// pytorch_model.bin, safetensors): the common shape every such reader produces, so a model's
// weight binder works the same whatever file the tensors came from. Tensors are views into the
// file's bytes (mapped, never copied); the file must outlive the set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/dtype.h"
#include "platform/status.h"

namespace floe {

struct NamedTensor {
  std::string name;
  DType dtype = DType::kF32;
  // PyTorch order: outermost dimension first (a Linear weight is {out_features, in_features}).
  std::vector<uint64_t> shape;
  const uint8_t* data = nullptr;  // contiguous, row-major, `bytes` long, inside the file
  size_t bytes = 0;

  uint64_t elements() const {
    uint64_t n = 1;
    for (uint64_t d : shape) n *= d;
    return n;
  }
};

struct TensorSet {
  std::vector<NamedTensor> tensors;  // in file order

  // nullptr when absent.
  const NamedTensor* Find(std::string_view name) const {
    for (const auto& t : tensors)
      if (t.name == name) return &t;
    return nullptr;
  }
  // kNotFound naming the tensor (and `where`, e.g. the file) when absent.
  Result<const NamedTensor*> Get(std::string_view name, std::string_view where = {}) const {
    if (const NamedTensor* t = Find(name)) return t;
    std::string msg = "tensor '" + std::string(name) + "' is missing";
    if (!where.empty()) msg += " from " + std::string(where);
    return NotFound(std::move(msg));
  }
};

}  // namespace floe
