#include "platform/base/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "platform/base/aligned_buffer.h"

namespace floe {

namespace {

constexpr size_t kHugePageBytes = size_t(2) << 20;

size_t RoundUpToPage(size_t n) {
  const long page = sysconf(_SC_PAGESIZE);
  const size_t p = page > 0 ? size_t(page) : 4096;
  return (n + p - 1) / p * p;
}

// Maps the whole file read-only. With `aligned`, at a 2 MiB-aligned address: a 2 MiB page-table
// entry can map a 2 MiB page-cache folio only where the address and the file offset agree
// modulo 2 MiB. nullptr when mmap refuses.
const uint8_t* MapFile(int fd, size_t size, bool aligned) {
  void* p = MAP_FAILED;
  if (aligned) {
    const size_t span = RoundUpToPage(size) + kHugePageBytes;
    void* r = mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r != MAP_FAILED) {
      const uintptr_t base = reinterpret_cast<uintptr_t>(r);
      const uintptr_t at = (base + kHugePageBytes - 1) & ~uintptr_t(kHugePageBytes - 1);
      p = mmap(reinterpret_cast<void*>(at), size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
      if (p == MAP_FAILED) {
        munmap(r, span);
      } else {  // give back the reservation on either side of the mapping
        if (at > base) munmap(r, at - base);
        const uintptr_t end = at + RoundUpToPage(size);
        if (base + span > end) munmap(reinterpret_cast<void*>(end), base + span - end);
      }
    }
  }
  if (p == MAP_FAILED) p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return nullptr;
#ifdef MADV_HUGEPAGE
  if (aligned) madvise(p, size, MADV_HUGEPAGE);
#endif
  return static_cast<const uint8_t*>(p);
}

// Transparent huge pages are usable unless the system turned them off ("[never]").
bool TransparentHugePagesOn() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (!std::getline(in, line)) return false;
  return line.find("[never]") == std::string::npos;
}

// Whether faulting the whole file in at once is sensible: not for a file larger than half the
// machine's memory (it would push other memory out, or not fit).
bool FitsInHalfOfMemory(size_t size) {
  const size_t ram = PhysicalMemoryBytes();
  return ram > 0 && size <= ram / 2;
}

// Faults every page of the mapping in, reading from disk what is not cached. False when the
// kernel lacks MADV_POPULATE_READ (before 5.14) or a page could not be read; the mapping is
// then left to fault lazily (touching it here could raise SIGBUS on an I/O error).
bool FaultIn(const uint8_t* p, size_t size) {
#ifndef MADV_POPULATE_READ
  constexpr int MADV_POPULATE_READ = 22;
#endif
  return madvise(const_cast<uint8_t*>(p), size, MADV_POPULATE_READ) == 0;
}

// The mapping's "FilePmdMapped" from /proc/self/smaps: bytes mapped by 2 MiB page-table entries.
std::optional<size_t> HugeMappedBytes(const uint8_t* p) {
  FILE* f = std::fopen("/proc/self/smaps", "re");
  if (!f) return std::nullopt;
  const unsigned long want = reinterpret_cast<uintptr_t>(p);
  char line[8192];  // a VMA header line ends in the file path
  bool in_vma = false;
  std::optional<size_t> bytes;
  while (std::fgets(line, sizeof line, f)) {
    unsigned long lo = 0, hi = 0;
    char dash = 0;
    if (std::sscanf(line, "%lx%c%lx", &lo, &dash, &hi) == 3 && dash == '-') {
      if (in_vma) break;
      in_vma = lo == want;
      continue;
    }
    size_t kb = 0;
    if (in_vma && std::sscanf(line, "FilePmdMapped: %zu kB", &kb) == 1) {
      bytes = kb * 1024;
      break;
    }
  }
  std::fclose(f);
  return bytes;
}

}  // namespace

MappedFile::~MappedFile() { Reset(); }

MappedFile::MappedFile(MappedFile&& o) noexcept { *this = std::move(o); }

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    Reset();
    data_ = std::exchange(o.data_, nullptr);
    size_ = std::exchange(o.size_, 0);
    mapped_ = std::exchange(o.mapped_, false);
    huge_page_bytes_ = std::exchange(o.huge_page_bytes_, std::nullopt);
    refaulted_ = std::exchange(o.refaulted_, false);
    buffer_ = std::move(o.buffer_);
    path_ = std::move(o.path_);
  }
  return *this;
}

size_t MappedFile::ReleasePages(const void* p, size_t n) const {
  // Addresses as integers: p may point anywhere, and comparing unrelated pointers is unspecified.
  const uintptr_t b = reinterpret_cast<uintptr_t>(p), begin = reinterpret_cast<uintptr_t>(data_);
  if (!mapped_ || n == 0 || b < begin || b - begin > size_ || n > size_ - (b - begin)) return 0;
  const long page_size = sysconf(_SC_PAGESIZE);
  const uintptr_t page = page_size > 0 ? uintptr_t(page_size) : 4096;
  const uintptr_t first = (b + page - 1) / page * page;
  const uintptr_t last = (b + n) / page * page;
  if (last <= first) return 0;
  if (madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED) != 0) return 0;
  return last - first;
}

std::optional<size_t> MappedFile::MeasureHugePageBytes() const {
  if (!mapped_ || !data_) return std::nullopt;
  return HugeMappedBytes(data_);
}

void MappedFile::RefaultInHugePages(int fd) {
  if (size_ < kRefaultMinBytes || !FitsInHalfOfMemory(size_) || !TransparentHugePagesOn() ||
      !FaultIn(data_, size_))
    return;
  huge_page_bytes_ = HugeMappedBytes(data_);
  if (!huge_page_bytes_ || *huge_page_bytes_ * 2 >= size_ / kHugePageBytes * kHugePageBytes) return;
  // Cached in small folios: drop what no process maps and read the file in again.
  munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  mapped_ = false;
  huge_page_bytes_.reset();
  (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  const uint8_t* q = MapFile(fd, size_, true);
  if (!q) return;  // the caller reads the file instead
  data_ = q;
  mapped_ = true;
  refaulted_ = true;
  if (FaultIn(data_, size_)) huge_page_bytes_ = HugeMappedBytes(data_);
}

std::string DescribeHugePages(const MappedFile& f) {
  if (!f.huge_page_bytes()) return {};
  return std::to_string(*f.huge_page_bytes() >> 20) + " of " + std::to_string(f.size() >> 20) +
         " MiB in 2 MiB pages" + (f.refaulted() ? " (read in again)" : "");
}

void MappedFile::Reset() {
  if (mapped_ && data_) munmap(const_cast<uint8_t*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
  mapped_ = false;
  huge_page_bytes_.reset();
  refaulted_ = false;
  (void)buffer_.Resize(0);
}

Result<MappedFile> MappedFile::Open(const std::string& path, FileLoadMode mode,
                                    HugePages huge_pages) {
  // O_NONBLOCK: opening a FIFO (or a device that waits for a peer) returns at once instead of
  // blocking until a writer appears; fstat then refuses it. No effect on regular files.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
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
    if (const uint8_t* p = MapFile(fd, f.size_, huge_pages != HugePages::kOff)) {
      f.data_ = p;
      f.mapped_ = true;
      if (huge_pages == HugePages::kRefault) f.RefaultInHugePages(fd);
      if (f.mapped_) {
        ::close(fd);
        return f;
      }
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
