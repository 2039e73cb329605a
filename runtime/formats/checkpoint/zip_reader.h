// Reads a ZIP archive held in memory (a mapped .pth / pytorch_model.bin). Only what torch.save
// writes is needed: stored (method 0) entries, which come out as zero-copy views of the buffer.
// ZIP64 (end-of-central-directory record + locator, and the extended-information extra field of
// central headers) is understood, since torch writes it. Input is untrusted: Open() validates
// the end record, every central header, every local header and every entry's data range against
// the buffer, so a successful Open() means each entry's bytes lie inside it. Errors are
// kCorruptData (inconsistent/truncated), kUnsupported (multi-disk, encryption, compression).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "platform/base/status.h"

namespace floe {

struct ZipEntry {
  std::string_view name;  // points into the archive's bytes
  uint16_t method = 0;    // 0 = stored; anything else is compressed (unsupported)
  uint16_t flags = 0;
  uint64_t compressed_size = 0;
  uint64_t uncompressed_size = 0;
  uint64_t local_header_offset = 0;
  uint64_t data_offset = 0;  // first byte of the entry's (possibly compressed) data
};

class ZipArchive {
 public:
  // Parses the directory of the archive in data[0, size). The bytes must outlive the archive
  // (entries and views point into them). An archive comment is allowed; leading data
  // (self-extracting stubs) is not: offsets are taken as absolute. Duplicate entry names are
  // kCorruptData.
  static Result<ZipArchive> Open(const uint8_t* data, size_t size);

  const std::vector<ZipEntry>& entries() const { return entries_; }
  // nullptr when no entry has this exact name.
  const ZipEntry* Find(std::string_view name) const;

  struct View {
    const uint8_t* data = nullptr;
    size_t size = 0;
  };
  // The bytes of a stored entry. kNotFound naming the entry when absent; kUnsupported naming
  // the entry and its method when it is compressed.
  Result<View> Read(std::string_view name) const;
  Result<View> Read(const ZipEntry& entry) const;

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::vector<ZipEntry> entries_;
  std::unordered_map<std::string_view, size_t> index_;  // name -> entries_ index
};

// True when the bytes start with a ZIP local-file-header signature ("PK\3\4").
bool LooksLikeZip(const uint8_t* data, size_t size);

}  // namespace floe
