// A ModelWriter that keeps what is written in memory, as the format-neutral pair a loader reads:
// metadata in a MetadataMap, tensors in a TensorSet (views of the given data, not copies). A
// format reader whose file is one architecture's own layout (a llama2.c checkpoint) writes it
// through that architecture's GGUF writer into a collector, and the result loads like a GGUF.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "platform/base/metadata_map.h"
#include "platform/base/model_writer.h"
#include "platform/base/tensor_set.h"

namespace floe {

class ModelCollector final : public ModelWriter {
 public:
  explicit ModelCollector(std::string source) : metadata_(std::move(source)) {}

  void SetUint32(std::string key, uint32_t v) override {
    metadata_.Set(std::move(key), int64_t(v));
  }
  void SetFloat32(std::string key, float v) override { metadata_.Set(std::move(key), double(v)); }
  void SetBool(std::string key, bool v) override { metadata_.Set(std::move(key), v); }
  void SetString(std::string key, std::string v) override {
    metadata_.Set(std::move(key), std::move(v));
  }
  void SetInt32Array(std::string key, std::vector<int32_t> v) override {
    metadata_.Set(std::move(key), std::move(v));
  }
  Status AddTensor(std::string name, std::vector<uint64_t> shape, DType dtype, const void* data,
                   size_t bytes) override {
    if (name.empty() || shape.empty() || shape.size() > 4 || data == nullptr)
      return InvalidArgument("tensor '" + name + "': empty name, bad shape or no data");
    NamedTensor t;
    t.name = std::move(name);
    t.dtype = dtype;
    t.shape = std::move(shape);
    t.data = static_cast<const uint8_t*>(data);
    t.bytes = bytes;
    if (DTypeBytes(dtype, t.shape.back()) * (t.elements() / t.shape.back()) != bytes)
      return InvalidArgument("tensor '" + t.name + "': " + std::to_string(bytes) +
                             " bytes do not match its shape and type");
    tensors_.tensors.push_back(std::move(t));
    return Status::Ok();
  }
  void* Keep(size_t bytes) override {
    kept_.push_back(std::make_unique<uint8_t[]>(bytes));
    return kept_.back().get();
  }

  const MetadataMap& metadata() const { return metadata_; }
  // Indexed by name once writing is done (call after the last AddTensor).
  const TensorSet& tensors() {
    tensors_.Index();
    return tensors_;
  }

 private:
  MetadataMap metadata_;
  TensorSet tensors_;
  std::vector<std::unique_ptr<uint8_t[]>> kept_;
};

}  // namespace floe
