// Owning, 64-byte aligned, uninitialised array allocated through mimalloc.
#pragma once

#include <cstddef>
#include <cstring>
#include <type_traits>
#include <utility>

#include "platform/base/status.h"

namespace floe {

void* AlignedAlloc(size_t bytes);  // nullptr on failure (never throws)
// 2 MiB-aligned and hinted for transparent huge pages (madvise; ignored where THP is off), for
// memory read at scattered places; nullptr on failure. Free with AlignedFree.
void* AlignedAllocHugePages(size_t bytes);
void AlignedFree(void* p);
// The machine's physical memory in bytes (sysconf), or 0 where it cannot be read: the bound for
// buffers sized by input, which would otherwise be reserved lazily and fail only when filled.
size_t PhysicalMemoryBytes();

template <class T>
class AlignedBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "AlignedBuffer holds plain data only");

 public:
  static constexpr size_t kAlignment = 64;
  AlignedBuffer() = default;
  ~AlignedBuffer() { AlignedFree(data_); }
  AlignedBuffer(AlignedBuffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  AlignedBuffer& operator=(AlignedBuffer&& o) noexcept {
    if (this != &o) {
      AlignedFree(data_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
    }
    return *this;
  }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;

  // Replaces the contents with n uninitialised elements. kOutOfMemory on failure.
  Status Resize(size_t n) {
    if (n == size_) return Status::Ok();
    AlignedFree(data_);
    data_ = nullptr;
    size_ = 0;
    if (n == 0) return Status::Ok();
    if (n > SIZE_MAX / sizeof(T)) return OutOfMemory("buffer size overflows");
    data_ = static_cast<T*>(AlignedAlloc(n * sizeof(T)));
    if (!data_) return OutOfMemory("cannot allocate " + std::to_string(n * sizeof(T)) + " bytes");
    size_ = n;
    return Status::Ok();
  }
  void Zero() {
    if (data_) std::memset(static_cast<void*>(data_), 0, size_ * sizeof(T));
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace floe
