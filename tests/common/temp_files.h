// Temporary files for tests. CTest runs each TEST_CASE as its own process, in parallel, so a
// name carries the process id (and a counter, for several files of one case).
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace floe::testing {

// A fresh path in the temp directory: floe_<prefix>_<pid>_<n>_<stem>.
inline std::string TempPath(const std::string& prefix, const std::string& stem) {
  static std::atomic<int> counter{0};
  return (std::filesystem::temp_directory_path() /
          ("floe_" + prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) +
           "_" + stem))
      .string();
}

// Removes the file when it goes out of scope.
struct Cleanup {
  std::string path;
  ~Cleanup() { std::filesystem::remove(path); }
};

}  // namespace floe::testing
