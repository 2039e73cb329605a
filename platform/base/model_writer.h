// Where an architecture writes a model file's contents (metadata keys and named tensors)
// without knowing the file format: runtime/formats/gguf's GgufWriter implements it, so a
// model's converter and random initialisation (models/<arch>) produce GGUF files while
// models/ stays below runtime/ (../shared/DESIGN.md, "Layers").
//
// Tensors are given as a shape in PyTorch order (outermost first: a Linear weight is
// {out_features, in_features}) and a dtype; `data` holds `bytes` bytes and must stay valid
// until the writer has written the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "platform/base/dtype.h"
#include "platform/base/status.h"

namespace floe {

class ModelWriter {
 public:
  virtual ~ModelWriter() = default;

  // Setting a key twice replaces the value.
  virtual void SetUint32(std::string key, uint32_t v) = 0;
  virtual void SetFloat32(std::string key, float v) = 0;
  virtual void SetBool(std::string key, bool v) = 0;
  virtual void SetString(std::string key, std::string v) = 0;
  virtual void SetInt32Array(std::string key, std::vector<int32_t> v) = 0;
  // kInvalidArgument for an empty name, a shape of no or more than 4 dimensions, or a byte
  // count that does not match shape and dtype.
  virtual Status AddTensor(std::string name, std::vector<uint64_t> shape, DType dtype,
                           const void* data, size_t bytes) = 0;
  // `bytes` bytes of storage that live as long as the writer, for tensors an architecture
  // derives while writing (e.g. several vectors fused into one).
  virtual void* Keep(size_t bytes) = 0;
};

}  // namespace floe
