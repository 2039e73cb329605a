// A GGUF file as the format-neutral pair an architecture reads (models/<arch>): its metadata as
// a MetadataView and its tensors as a TensorSet. Both are views into the GgufFile, which must
// outlive them.
#pragma once

#include "platform/base/metadata_view.h"
#include "platform/base/tensor_set.h"
#include "runtime/formats/gguf/gguf_reader.h"

namespace floe {

class GgufMetadata final : public MetadataView {
 public:
  explicit GgufMetadata(const GgufFile& file) : file_(file) {}

  std::string_view source() const override { return "GGUF"; }
  bool Has(std::string_view key) const override { return file_.Find(key) != nullptr; }
  Result<uint64_t> GetUint(std::string_view key) const override { return file_.GetUint(key); }
  Result<int64_t> GetInt(std::string_view key) const override { return file_.GetInt(key); }
  Result<double> GetFloat(std::string_view key) const override { return file_.GetFloat(key); }
  Result<bool> GetBool(std::string_view key) const override { return file_.GetBool(key); }
  Result<std::string> GetString(std::string_view key) const override {
    return file_.GetString(key);
  }
  Result<std::vector<int32_t>> GetInt32Array(std::string_view key) const override {
    return file_.GetInt32Array(key);
  }

 private:
  const GgufFile& file_;
};

// Every tensor of the file, shapes in PyTorch order (ggml's ne reversed). Tensors of a ggml
// type floe does not compute with (q5_0, q2_K, ...) go to `unusable`, so a binder that needs
// one reports its type by name.
TensorSet GgufTensors(const GgufFile& file);

}  // namespace floe
