// Puts a file in the page cache in small (4 KiB) folios, the state a file is in right after it
// was written (a download, `floe quantize`): the baseline of bench_weight_pages. Linux only.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace floe {

// Drops the file's clean cached pages that no process maps, then reads it through with
// readahead off (POSIX_FADV_RANDOM), which caches it page by page. False with *err on failure.
inline bool CacheInSmallPages(const std::string& path, std::string* err) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *err = "cannot open " + path;
    return false;
  }
  (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  (void)posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
  std::vector<char> buf(size_t(1) << 20);
  ssize_t n = 0;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0) {
  }
  ::close(fd);
  if (n < 0) *err = "read error on " + path;
  return n == 0;
}

}  // namespace floe
