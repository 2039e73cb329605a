// A read-only view of a whole file: memory-mapped when possible, read into an aligned heap
// buffer otherwise (or when asked). Weights are used in place from here, never copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "platform/base/aligned_buffer.h"
#include "platform/base/status.h"

namespace floe {

enum class FileLoadMode { kMmap, kRead };

// How a memory-mapped file's pages are backed (kRead buffers are always hinted for huge pages).
// A decode step streams every weight once, so the page size decides how far the hardware
// prefetchers run and how many TLB misses a token costs (bench/bench_weight_pages compares
// the two; docs/weight-pages.md, docs/results/weight-pages.md).
// Linux backs a file's cache in 2 MiB folios where the kernel and filesystem support large folios
// (e.g. ext4 from 6.16, XFS from 5.18) and the pages are read in fresh; a file written moments ago
// (a download, `floe quantize`) sits in the cache in small folios, and a mapping of it stays in 4
// KiB pages until that cache is dropped.
enum class HugePages {
  kOff,      // plain mmap, 4 KiB pages unless the file's cache already holds 2 MiB folios
  kAdvise,   // mmap at a 2 MiB-aligned address with MADV_HUGEPAGE: pages read in from disk come
             // in 2 MiB folios; pages already cached stay as they are
  kRefault,  // kAdvise, then fault the whole file in (MADV_POPULATE_READ); when less than half
             // of it landed in 2 MiB pages, unmap, drop the file's clean cached pages that no
             // process maps (POSIX_FADV_DONTNEED) and map and fault it in once more, which reads
             // the file again from disk. Files under kRefaultMinBytes or over half the machine's
             // memory are treated as kAdvise.
};
inline constexpr size_t kRefaultMinBytes = size_t(32) << 20;

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
  static Result<MappedFile> Open(const std::string& path, FileLoadMode mode = FileLoadMode::kMmap,
                                 HugePages huge_pages = HugePages::kAdvise);

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool is_mapped() const { return mapped_; }
  // Bytes of the mapping the kernel maps with 2 MiB page-table entries, read from
  // /proc/self/smaps after the file was faulted in; known only after a kRefault open on Linux.
  std::optional<size_t> huge_page_bytes() const { return huge_page_bytes_; }
  // The same, read now: counts only the pages faulted in so far. nullopt when not mapped or
  // where /proc/self/smaps does not tell.
  std::optional<size_t> MeasureHugePageBytes() const;
  // Gives the whole pages inside [p, p + n) (a range of this file's mapping) back to the kernel
  // (MADV_DONTNEED): the process stops holding them, and reading them again faults them in from
  // the file. For data the caller has copied elsewhere (weights repacked at load). Returns the
  // bytes given back; 0 when not mapped (kRead buffers are kept) or the range lies outside.
  size_t ReleasePages(const void* p, size_t n) const;
  // True when a kRefault open found the file cached in small pages and read it in again.
  bool refaulted() const { return refaulted_; }
  const std::string& path() const { return path_; }

 private:
  void Reset();
  // kRefault on a fresh mapping of fd (see HugePages). Leaves the file mapped (the same or a new
  // mapping), or unmapped when mapping it again failed (Open then reads it instead).
  void RefaultInHugePages(int fd);

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool mapped_ = false;
  std::optional<size_t> huge_page_bytes_;
  bool refaulted_ = false;
  AlignedBuffer<uint8_t> buffer_;  // used in kRead mode
  std::string path_;
};

// "592 of 593 MiB in 2 MiB pages (read in again)" when a kRefault open measured it, else "".
std::string DescribeHugePages(const MappedFile& f);

}  // namespace floe
