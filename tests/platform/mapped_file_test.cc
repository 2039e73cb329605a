// MappedFile's page backing (HugePages): every mode maps the file's bytes unchanged, and where
// the kernel and filesystem cache freshly read files in 2 MiB folios, kRefault turns a file
// cached in small folios (as after it was written) into 2 MiB pages while kAdvise leaves it.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "platform/base/page_cache.h"
#include "platform/base/mapped_file.h"
#include "skips.h"
#include "temp_files.h"

namespace floe {
namespace {

constexpr size_t kHuge = size_t(2) << 20;

std::string TempPath(const std::string& stem) {
  return testing::TempPath("mapped_file_test", stem);
}
using testing::Cleanup;

// Writes `bytes` in 4 KiB writes (which leaves the file cached in small folios).
void WriteInSmallPieces(const std::string& path, const std::vector<uint8_t>& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  for (size_t at = 0; at < bytes.size(); at += 4096) {
    const size_t n = std::min<size_t>(4096, bytes.size() - at);
    REQUIRE(::write(fd, bytes.data() + at, n) == ssize_t(n));
  }
  REQUIRE(::fsync(fd) == 0);
  ::close(fd);
}

std::vector<uint8_t> RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = uint8_t(rng());
  return v;
}

// Reads every page of the mapping (faults it in) and returns a checksum of the first byte of each.
uint64_t TouchAll(const MappedFile& f) {
  uint64_t s = 0;
  for (size_t i = 0; i < f.size(); i += 4096) s += f.data()[i];
  return s;
}

// The process's FilePmdMapped (bytes of files mapped by 2 MiB page-table entries), from
// /proc/self/smaps_rollup; -1 where unreadable.
long long ProcessFilePmdBytes() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("FilePmdMapped:", 0) == 0) return std::atoll(line.c_str() + 14) * 1024;
  return -1;
}

// Independent probe, with raw system calls: drop the file's cache, map it at a 2 MiB-aligned
// address with MADV_HUGEPAGE, fault it in and see how much of it 2 MiB pages map. True when this
// kernel and filesystem cache fresh reads of the file in 2 MiB folios.
bool FreshFaultsComeInHugeFolios(const std::string& path, size_t size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  void* r =
      mmap(nullptr, size + kHuge, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  bool yes = false;
  if (r != MAP_FAILED) {
    auto* at = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(r) + kHuge - 1) &
                                       ~uintptr_t(kHuge - 1));
    const long long before = ProcessFilePmdBytes();
    void* p = mmap(at, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    if (p != MAP_FAILED && madvise(p, size, MADV_HUGEPAGE) == 0) {
      volatile uint8_t sink = 0;
      for (size_t i = 0; i < size; i += 4096) sink = sink + static_cast<const uint8_t*>(p)[i];
      const long long after = ProcessFilePmdBytes();
      yes = before >= 0 && (after - before) * 2 >= (long long)(size / kHuge * kHuge);
    }
    munmap(r, size + kHuge);
  }
  ::close(fd);
  return yes;
}

TEST_CASE("every huge-page mode maps the file's bytes unchanged", "[unit]") {
  const std::string path = TempPath("bytes.bin");
  Cleanup cleanup{path};
  const size_t size = kRefaultMinBytes + 3 * kHuge + 12345;  // large enough to refault; ragged tail
  const auto bytes = RandomBytes(size, 7);
  WriteInSmallPieces(path, bytes);
  for (HugePages pages : {HugePages::kOff, HugePages::kAdvise, HugePages::kRefault}) {
    for (FileLoadMode mode : {FileLoadMode::kMmap, FileLoadMode::kRead}) {
      auto f = MappedFile::Open(path, mode, pages);
      REQUIRE(f.ok());
      REQUIRE(f->size() == size);
      CHECK(std::memcmp(f->data(), bytes.data(), size) == 0);
      CHECK(f->is_mapped() == (mode == FileLoadMode::kMmap));
      if (f->is_mapped() &&
          pages != HugePages::kOff)  // a 2 MiB page can only map aligned addresses
        CHECK(reinterpret_cast<uintptr_t>(f->data()) % kHuge == 0);
      if (pages != HugePages::kRefault || mode == FileLoadMode::kRead) {
        CHECK_FALSE(f->huge_page_bytes().has_value());  // measured only by kRefault
        CHECK_FALSE(f->refaulted());
      }
    }
  }
  // Below kRefaultMinBytes kRefault is kAdvise: nothing measured, nothing read again.
  const std::string small_path = TempPath("small.bin");
  Cleanup small_cleanup{small_path};
  const auto small = RandomBytes(kHuge + 100, 8);
  WriteInSmallPieces(small_path, small);
  auto f = MappedFile::Open(small_path, FileLoadMode::kMmap, HugePages::kRefault);
  REQUIRE(f.ok());
  CHECK(std::memcmp(f->data(), small.data(), small.size()) == 0);
  CHECK_FALSE(f->huge_page_bytes().has_value());
  CHECK_FALSE(f->refaulted());
}

TEST_CASE("kRefault brings a file cached in small folios into 2 MiB pages, kAdvise leaves it",
          "[unit]") {
  const std::string path = TempPath("refault.bin");
  Cleanup cleanup{path};
  const size_t size = kRefaultMinBytes + 8 * kHuge;
  const auto bytes = RandomBytes(size, 9);
  WriteInSmallPieces(path, bytes);
  const size_t coverable = size / kHuge * kHuge;
  if (!FreshFaultsComeInHugeFolios(path, size)) {
    auto f = MappedFile::Open(path, FileLoadMode::kMmap, HugePages::kRefault);
    REQUIRE(f.ok());
    CHECK(std::memcmp(f->data(), bytes.data(), size) == 0);
    FLOE_SKIP_CAPABILITY("huge-folios", "this kernel/filesystem does not cache " + path +
                                            " in 2 MiB folios; only the bytes were checked");
  }
  std::string err;
  REQUIRE(CacheInSmallPages(path, &err));
  {
    auto f = MappedFile::Open(path, FileLoadMode::kMmap, HugePages::kAdvise);
    REQUIRE(f.ok());
    (void)TouchAll(*f);
    const auto b = f->MeasureHugePageBytes();
    REQUIRE(b.has_value());
    CHECK(*b * 2 < coverable);  // advise keeps the small folios it finds
    CHECK_FALSE(f->refaulted());
  }
  {
    auto f = MappedFile::Open(path, FileLoadMode::kMmap, HugePages::kRefault);
    REQUIRE(f.ok());
    CHECK(f->refaulted());
    REQUIRE(f->huge_page_bytes().has_value());
    CHECK(*f->huge_page_bytes() * 2 >= coverable);
    CHECK(*f->huge_page_bytes() <= coverable);
    CHECK(std::memcmp(f->data(), bytes.data(), size) == 0);
  }
  {  // now cached in 2 MiB folios: a second kRefault open has nothing to redo
    auto f = MappedFile::Open(path, FileLoadMode::kMmap, HugePages::kRefault);
    REQUIRE(f.ok());
    CHECK_FALSE(f->refaulted());
    REQUIRE(f->huge_page_bytes().has_value());
    CHECK(*f->huge_page_bytes() * 2 >= coverable);
  }
}

}  // namespace
TEST_CASE("ReleasePages gives back whole pages inside the range, which read back unchanged",
          "[unit]") {
  const std::string path = TempPath("release.bin");
  Cleanup cleanup{path};
  const size_t size = 3 * kHuge + 777;
  const auto bytes = RandomBytes(size, 9);
  WriteInSmallPieces(path, bytes);
  const long page = sysconf(_SC_PAGESIZE);
  REQUIRE(page > 0);
  for (FileLoadMode mode : {FileLoadMode::kMmap, FileLoadMode::kRead}) {
    auto f = MappedFile::Open(path, mode, HugePages::kOff);
    REQUIRE(f.ok());
    const uint8_t* d = f->data();
    const size_t released = f->ReleasePages(d + 100, 5 * size_t(page));  // 4 whole pages inside
    CHECK(released == (f->is_mapped() ? 4 * size_t(page) : 0));
    CHECK(f->ReleasePages(d + size - 10, 100) == 0);  // reaches past the end: refused
    CHECK(f->ReleasePages(bytes.data(), 100) == 0);   // not this file's memory
    CHECK(f->ReleasePages(d + 10, 20) == 0);          // no whole page inside
    CHECK(std::memcmp(d, bytes.data(), size) == 0);   // faulted in again from the file
  }
}

}  // namespace floe
