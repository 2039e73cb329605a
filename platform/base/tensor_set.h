// Named tensors read from a model file (GGUF, rwkv.cpp .bin, PyTorch .pth / pytorch_model.bin,
// safetensors): the common shape every format reader in runtime/formats produces, so a model's
// weight binder (models/<arch>) works the same whatever file the tensors came from. Tensors are
// views into the file's bytes (mapped, never copied); the file must outlive the set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/base/dtype.h"
#include "platform/base/status.h"
#include "platform/base/tensor.h"

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

// "(d0, d1, ...)": a shape as the binders' errors print it.
inline std::string ShapeText(const std::vector<uint64_t>& shape) {
  std::string t = "(";
  for (size_t i = 0; i < shape.size(); ++i) t += (i ? ", " : "") + std::to_string(shape[i]);
  return t + ")";
}

// The tensor's data as a rows x cols matrix of its dtype (the caller has checked the shape).
inline TensorView ViewOf(const NamedTensor& t, size_t rows, size_t cols) {
  TensorView v;
  v.dtype = t.dtype;
  v.data = t.data;
  v.rows = rows;
  v.cols = cols;
  return v;
}

struct TensorSet {
  std::vector<NamedTensor> tensors;  // in file order
  // Tensors the file holds in a type floe does not compute with (e.g. GGUF q5_0): name and the
  // reason, reported when a binder asks for one of them. Absent from `tensors`.
  std::vector<std::pair<std::string, std::string>> unusable;

  // Name -> position in `tensors`, for sets too large to search linearly; filled by Index()
  // and used by Find while it covers every tensor (a set changed after Index() is searched
  // linearly again).
  std::map<std::string, size_t, std::less<>> by_name;

  void Index() {
    by_name.clear();
    for (size_t i = 0; i < tensors.size(); ++i) by_name.emplace(tensors[i].name, i);
  }

  // nullptr when absent.
  const NamedTensor* Find(std::string_view name) const {
    if (!by_name.empty() && by_name.size() == tensors.size()) {
      auto it = by_name.find(name);
      return it != by_name.end() && it->second < tensors.size() && tensors[it->second].name == name
                 ? &tensors[it->second]
                 : nullptr;
    }
    for (const auto& t : tensors)
      if (t.name == name) return &t;
    return nullptr;
  }
  // kNotFound naming the tensor (and `where`, e.g. the file) when absent.
  Result<const NamedTensor*> Get(std::string_view name, std::string_view where = {}) const {
    if (const NamedTensor* t = Find(name)) return t;
    for (const auto& [n, why] : unusable)
      if (n == name) return Unsupported("tensor '" + n + "' " + why);
    std::string msg = "tensor '" + std::string(name) + "' is missing";
    if (!where.empty()) msg += " from " + std::string(where);
    return NotFound(std::move(msg));
  }

  // A 2-D view of a tensor: cols = the innermost dimension, rows = the product of the others
  // (1 for a 1-D tensor). kNotFound / kUnsupported as Get; kCorruptData when the row length is
  // not a whole number of the dtype's blocks.
  Result<TensorView> View(std::string_view name) const {
    FLOE_ASSIGN_OR_RETURN(const NamedTensor* t, Get(name));
    if (t->shape.empty()) return CorruptData("tensor '" + t->name + "' has no dimensions");
    TensorView v;
    v.dtype = t->dtype;
    v.data = t->data;
    v.cols = size_t(t->shape.back());
    v.rows = size_t(t->elements() / t->shape.back());
    if (v.cols == 0 || v.cols % DTypeBlockElems(v.dtype) != 0)
      return CorruptData("tensor '" + t->name + "': row length is not a multiple of the " +
                         DTypeName(v.dtype) + " block");
    return v;
  }
};

}  // namespace floe
