// GGUF v3 writer: metadata in insertion order, then tensor infos, then tensor data, each
// tensor padded to the alignment. Used by converters and tests; what it writes, GgufFile reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "platform/base/status.h"
#include "runtime/formats/gguf/gguf.h"

namespace floe {

class GgufWriter {
 public:
  // Setting a key twice replaces the value and keeps the key's first position.
  void SetUint32(std::string key, uint32_t v);
  void SetInt32(std::string key, int32_t v);
  void SetUint64(std::string key, uint64_t v);
  void SetFloat32(std::string key, float v);
  void SetBool(std::string key, bool v);
  void SetString(std::string key, std::string v);
  void SetStringArray(std::string key, std::vector<std::string> v);
  void SetFloat32Array(std::string key, std::vector<float> v);
  void SetInt32Array(std::string key, std::vector<int32_t> v);
  // Any value (e.g. copied from a GgufFile). Checked at WriteFile time: known types, array
  // elements of elem_type, nesting depth <= 2, integer values within their type's range.
  void SetValue(std::string key, GgufValue v);

  // Records a tensor; `data` (nbytes bytes) is written straight from where it lies at WriteFile
  // time (no copy: a mapped input file's tensor stays in the page cache) and must stay valid
  // until then; `on_write`, if set, runs just before (progress reports). InvalidArgument for a
  // duplicate name, a bad shape, nbytes not matching ne and type, or null data; Unsupported for
  // an unknown ggml type.
  Status AddTensor(std::string name, std::vector<uint64_t> ne, uint32_t ggml_type, const void* data,
                   size_t nbytes, std::function<void()> on_write = {});

  // Produces a tensor's bytes at write time: writes exactly the tensor's nbytes into dst (a
  // buffer the writer owns and reuses from tensor to tensor). An error stops the write.
  using TensorFill = std::function<Status(uint8_t* dst)>;
  // Records a tensor whose bytes `fill` produces when the file is written, so a converter can
  // write a file larger than memory one tensor at a time. Same checks as AddTensor.
  Status AddTensorFill(std::string name, std::vector<uint64_t> ne, uint32_t ggml_type,
                       size_t nbytes, TensorFill fill);

  // Writes path + ".tmp", then renames it to path (a failed write leaves path untouched).
  // Alignment: general.alignment if set (must be a uint32 power of two), else 32.
  // InvalidArgument for bad metadata, IoError when the OS refuses.
  Status WriteFile(const std::string& path) const;

  // The exact bytes WriteFile would write (tests, in-memory use).
  Result<std::string> Serialize() const;

  size_t metadata_count() const { return kv_.size(); }
  size_t tensor_count() const { return tensors_.size(); }

 private:
  struct PendingTensor {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type = 0;
    const void* data = nullptr;
    size_t nbytes = 0;
    TensorFill fill;  // set instead of data for AddTensorFill
    std::function<void()> on_write;  // AddTensor's
  };
  // The shared checks of AddTensor / AddTensorFill.
  Status CheckNewTensor(const std::string& name, const std::vector<uint64_t>& ne,
                        uint32_t ggml_type, size_t nbytes) const;
  Result<uint32_t> Alignment() const;
  // Header (magic .. tensor infos, not padded) into *out; the data section starts at the
  // next multiple of the alignment.
  Status BuildHeader(uint32_t alignment, std::string* out) const;

  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<PendingTensor> tensors_;
};

}  // namespace floe
