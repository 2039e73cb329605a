// A read-only view of a whole file: memory-mapped when possible, read into an aligned heap
// buffer otherwise (or when asked). Weights are used in place from here, never copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "platform/aligned_buffer.h"
#include "platform/status.h"

namespace floe {

enum class FileLoadMode { kMmap, kRead };

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Errors: kNotFound (no such file), kIoError (permission, read failure, a directory).
  // kMmap falls back to kRead when mmap is refused (e.g. some pipes/filesystems).
  static Result<MappedFile> Open(const std::string& path, FileLoadMode mode = FileLoadMode::kMmap);

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool is_mapped() const { return mapped_; }
  const std::string& path() const { return path_; }

 private:
  void Reset();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  AlignedBuffer<uint8_t> buffer_;  // used in kRead mode
  std::string path_;
};

}  // namespace floe
