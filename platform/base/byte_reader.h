// Bounds-checked little-endian cursor over untrusted bytes. Every loader reads through this:
// no read can go past the end, every failure is a kCorruptData Status naming what was read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "platform/base/status.h"

namespace floe {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  size_t offset() const { return pos_; }
  size_t size() const { return size_; }
  size_t remaining() const { return size_ - pos_; }
  const uint8_t* data() const { return data_; }

  Status Seek(size_t offset, const char* what) {
    if (offset > size_) return Truncated(what, offset - pos_);
    pos_ = offset;
    return Status::Ok();
  }
  Status Skip(size_t n, const char* what) {
    if (n > remaining()) return Truncated(what, n);
    pos_ += n;
    return Status::Ok();
  }

  template <class T>
  Status Read(T* out, const char* what) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (sizeof(T) > remaining()) return Truncated(what, sizeof(T));
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }

  // A view of the next n bytes (no copy).
  Status ReadBytes(size_t n, const uint8_t** out, const char* what) {
    if (n > remaining()) return Truncated(what, n);
    *out = data_ + pos_;
    pos_ += n;
    return Status::Ok();
  }
  Status ReadString(size_t n, std::string* out, const char* what) {
    const uint8_t* p = nullptr;
    FLOE_RETURN_IF_ERROR(ReadBytes(n, &p, what));
    out->assign(reinterpret_cast<const char*>(p), n);
    return Status::Ok();
  }

 private:
  Status Truncated(const char* what, size_t wanted) const {
    return CorruptData(std::string("truncated while reading ") + what + " at byte " +
                       std::to_string(pos_) + " (wanted " + std::to_string(wanted) + " bytes, " +
                       std::to_string(remaining()) + " left)");
  }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace floe
