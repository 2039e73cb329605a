// GGUF v2/v3 reader. The file is untrusted: every count, length, offset and size is checked
// against the bytes actually present before anything is allocated or read, and every error is
// a Status naming the key or tensor and the problem. Tensor data is used in place (mapped).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/base/byte_reader.h"
#include "platform/base/mapped_file.h"
#include "platform/base/status.h"
#include "platform/base/tensor.h"
#include "runtime/formats/gguf/gguf.h"

namespace floe {

// Limits beyond "fits in the file": they bound memory for hostile but well-formed files.
// At most this many array elements in all metadata together (~100 bytes each in memory; real
// vocabularies hold well under 2M: tokens + scores + types + merges).
inline constexpr uint64_t kGgufMaxMetadataValues = uint64_t(1) << 22;
// And at most (this + 16 x the file's bytes) / sizeof(GgufValue) of them: memory in proportion
// to the file whatever its element types.
inline constexpr uint64_t kGgufMetadataFloorBytes = uint64_t(64) << 20;
inline constexpr uint32_t kGgufMaxAlignment = uint32_t(1) << 30;

class GgufFile {
 public:
  GgufFile(GgufFile&&) noexcept = default;
  GgufFile& operator=(GgufFile&&) noexcept = default;
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  // Opens and parses `path`. NotFound / IoError from opening; parse errors carry the path.
  static Result<GgufFile> Open(const std::string& path, FileLoadMode mode = FileLoadMode::kMmap);
  // Parses a file already in memory and takes ownership of it. Errors: CorruptData (malformed,
  // truncated, inconsistent), Unsupported (version 1 or > 3, big-endian, unknown tensor type).
  static Result<GgufFile> Parse(MappedFile file);
  // Parses bytes the caller owns (tests, fuzzing, embedded files). They must stay valid and
  // unchanged while the result lives; file() is then an empty MappedFile.
  static Result<GgufFile> ParseBytes(const uint8_t* data, size_t size);

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  // Absolute byte offset of the data section in the file.
  uint64_t data_offset() const { return data_offset_; }

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* Find(std::string_view key) const;  // nullptr if absent

  // Typed getters: NotFound if absent; InvalidArgument naming the key if the stored type does
  // not fit; CorruptData naming the key if the stored value is out of the getter's range.
  Result<uint64_t> GetUint(std::string_view key) const;  // any integer type, value >= 0
  Result<int64_t> GetInt(std::string_view key) const;    // any integer type, value <= INT64_MAX
  Result<double> GetFloat(std::string_view key) const;   // FLOAT32, FLOAT64 or any integer
  Result<bool> GetBool(std::string_view key) const;
  Result<std::string> GetString(std::string_view key) const;
  Result<std::vector<std::string>> GetStringArray(std::string_view key) const;
  Result<std::vector<float>> GetFloatArray(std::string_view key) const;    // float or int elems
  Result<std::vector<int32_t>> GetInt32Array(std::string_view key) const;  // int elems in range

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(std::string_view name) const;  // nullptr if absent
  // For F32/F16/BF16/Q4_0/Q8_0/Q4_K/Q6_K tensors: cols = ne[0], rows = product of ne[1..]
  // (1 for a 1-D tensor).
  // NotFound if absent, Unsupported for other ggml types.
  Result<TensorView> GetTensorView(std::string_view name) const;

  const MappedFile& file() const { return file_; }

 private:
  GgufFile() = default;
  // Fills everything but file_ from [data, data + size).
  Status ParseImpl(const uint8_t* data, size_t size);
  Status ParseTensorInfos(ByteReader& r, uint64_t count);
  Status PlaceTensors(const uint8_t* data, size_t size);
  Result<const GgufValue*> FindRequired(std::string_view key) const;
  Result<const GgufValue*> FindArray(std::string_view key) const;

  MappedFile file_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, size_t, std::less<>> key_index_;  // key -> index in metadata_
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;  // name -> index in tensors_
};

}  // namespace floe
