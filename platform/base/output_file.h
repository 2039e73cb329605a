// Writing a file so that nothing is lost or clobbered: the bytes go to a temporary file with a
// unique name (mkstemp) beside the target, are flushed to disk (fsync), and the temporary file
// is renamed over the target only when everything was written; a failure removes it and
// leaves the target as it was.
//
// The target is checked first: a path that exists and is not a regular file (a device such as
// /dev/full, a FIFO, a directory) is refused, never replaced; a symbolic link is written
// through (its final regular-file target is replaced and the link stays), and a dangling link
// is refused. A new file gets mode 0644 less the umask; a replaced file keeps its mode.
#pragma once

#include <cstddef>
#include <string>

#include "platform/base/status.h"

namespace floe {

class OutputFile {
 public:
  OutputFile(OutputFile&& other) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();  // removes the temporary file unless Commit succeeded

  // kIoError naming the path when the target is not a regular file (or a link to one), or the
  // temporary file cannot be created.
  static Result<OutputFile> Create(const std::string& path);

  Status Write(const void* data, size_t n);
  // fsync, close, rename over the target. After a failure the target is unchanged.
  Status Commit();

  const std::string& path() const { return path_; }      // what the caller named
  const std::string& target() const { return target_; }  // the file replaced (links resolved)

 private:
  OutputFile() = default;
  void Abandon();

  std::string path_, target_, temp_;
  int fd_ = -1;
  int mode_ = 0;  // for the new file: the replaced file's mode, or -1 for 0666 & ~umask
};

}  // namespace floe
