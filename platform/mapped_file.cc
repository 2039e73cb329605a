#include "platform/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace floe {

MappedFile::~MappedFile() { Reset(); }

MappedFile::MappedFile(MappedFile&& o) noexcept { *this = std::move(o); }

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    Reset();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    mapped_ = std::exchange(o.mapped_, false);
    buffer_ = std::move(o.buffer_);
    path_ = std::move(o.path_);
  }
  return *this;
}

void MappedFile::Reset() {
  if (mapped_ && data_) munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
  mapped_ = false;
  (void)buffer_.Resize(0);
}

Result<MappedFile> MappedFile::Open(const std::string& path, FileLoadMode mode) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return NotFound("cannot open '" + path + "': no such file");
    return IoError("cannot open '" + path + "': " + std::strerror(e));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return IoError("'" + path + "' is not a regular file");
  }
  MappedFile f;
  f.path_ = path;
  f.size_ = static_cast<size_t>(st.st_size);
  if (f.size_ == 0) {
    ::close(fd);
    static const uint8_t kEmpty = 0;
    f.data_ = &kEmpty;  // valid pointer, zero size
    return f;
  }
  if (mode == FileLoadMode::kMmap) {
    void* p = mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      ::close(fd);
      f.data_ = static_cast<const uint8_t*>(p);
      f.mapped_ = true;
      return f;
    }
  }
  Status st_alloc = f.buffer_.Resize(f.size_);
  if (!st_alloc.ok()) {
    ::close(fd);
    return std::move(st_alloc).WithContext("reading '" + path + "'");
  }
  size_t done = 0;
  while (done < f.size_) {
    ssize_t n = ::read(fd, f.buffer_.data() + done, f.size_ - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return IoError("short read from '" + path + "'");
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  f.data_ = f.buffer_.data();
  return f;
}

}  // namespace floe
