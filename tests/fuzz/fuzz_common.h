// Shared helpers of the libFuzzer harnesses (docs/fuzzing.md). A harness must never abort,
// throw or report through a sanitizer whatever its input; every failure of the code under test
// is a Status, which the harness drops.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

namespace floe::fuzz {

// ../shared/data: $FLOE_DATA if set, else the folder beside the source tree.
inline std::string DataPath(const std::string& rel) {
  const char* env = std::getenv("FLOE_DATA");
  std::string root = env != nullptr ? env : FLOE_FUZZ_DATA_DIR;
  return root + "/" + rel;
}

// A file every run of the harness needs (a fixed model or vocabulary): missing is fatal,
// so a harness never fuzzes quietly without its fixture.
inline std::vector<uint8_t> ReadFixture(const std::string& rel) {
  std::string path = DataPath(rel);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz fixture missing: %s (set FLOE_DATA to ../shared/data)\n",
                 path.c_str());
    std::abort();
  }
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// The input as a file path, for entry points that take one: an anonymous memory file
// (memfd, a regular file) whose /proc/self/fd path stays valid while this object lives.
class MemoryFile {
 public:
  MemoryFile(const uint8_t* data, size_t size) {
    fd_ = memfd_create("floe-fuzz", 0);
    if (fd_ < 0) std::abort();
    size_t done = 0;
    while (done < size) {
      ssize_t n = write(fd_, data + done, size - done);
      if (n <= 0) std::abort();
      done += size_t(n);
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  ~MemoryFile() { close(fd_); }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

// Splits the input into little-endian int32 token ids (trailing bytes ignored).
inline std::vector<int32_t> Ids(const uint8_t* data, size_t size) {
  std::vector<int32_t> ids(size / 4);
  for (size_t i = 0; i < ids.size(); ++i)
    ids[i] = int32_t(uint32_t(data[4 * i]) | uint32_t(data[4 * i + 1]) << 8 |
                     uint32_t(data[4 * i + 2]) << 16 | uint32_t(data[4 * i + 3]) << 24);
  return ids;
}

}  // namespace floe::fuzz
