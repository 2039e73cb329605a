#include "platform/base/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace floe {

namespace {

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

}  // namespace

OutputFile::OutputFile(OutputFile&& o) noexcept
    : path_(std::move(o.path_)),
      target_(std::move(o.target_)),
      temp_(std::move(o.temp_)),
      fd_(o.fd_),
      mode_(o.mode_) {
  o.fd_ = -1;
  o.temp_.clear();
}

OutputFile::~OutputFile() { Abandon(); }

void OutputFile::Abandon() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!temp_.empty()) ::unlink(temp_.c_str());
  temp_.clear();
}

Result<OutputFile> OutputFile::Create(const std::string& path) {
  if (path.empty()) return InvalidArgument("no output path");
  OutputFile f;
  f.path_ = path;
  f.target_ = path;
  f.mode_ = -1;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) {
      // Write through the link: the file it finally names is replaced, the link stays.
      char resolved[PATH_MAX];
      if (::realpath(path.c_str(), resolved) == nullptr)
        return IoError(Quoted(path) + " is a symbolic link to nothing (" + std::strerror(errno) +
                       "); refusing to write through it");
      f.target_ = resolved;
      if (::stat(f.target_.c_str(), &st) != 0)
        return IoError("cannot stat " + Quoted(f.target_) + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
      return IoError(Quoted(path) + " exists and is not a regular file (a device, FIFO or " +
                     "directory); refusing to replace it");
    f.mode_ = int(st.st_mode & 07777);
  } else if (errno != ENOENT) {
    return IoError("cannot stat " + Quoted(path) + ": " + std::strerror(errno));
  }
  std::vector<char> name(f.target_.begin(), f.target_.end());
  const char suffix[] = ".tmp-XXXXXX";
  name.insert(name.end(), suffix, suffix + sizeof suffix);  // with the terminating NUL
  f.fd_ = ::mkstemp(name.data());
  if (f.fd_ < 0)
    return IoError("cannot create a temporary file beside " + Quoted(f.target_) + ": " +
                   std::strerror(errno));
  f.temp_ = name.data();
  mode_t mode = mode_t(f.mode_);
  if (f.mode_ < 0) {  // a new file: 0666 less the umask, as open(O_CREAT) would give
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode = 0666 & ~mask;
  }
  (void)::fchmod(f.fd_, mode);
  return f;
}

Status OutputFile::Write(const void* data, size_t n) {
  if (fd_ < 0) return Internal("write to a closed output file");
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return IoError("writing " + Quoted(temp_) + " failed: " + std::strerror(errno));
    }
    p += w;
    n -= size_t(w);
  }
  return Status::Ok();
}

Status OutputFile::Commit() {
  if (fd_ < 0) return Internal("commit of a closed output file");
  Status st;
  if (::fsync(fd_) != 0)
    st = IoError("flushing " + Quoted(temp_) + " failed: " + std::strerror(errno));
  if (::close(fd_) != 0 && st.ok())
    st = IoError("closing " + Quoted(temp_) + " failed: " + std::strerror(errno));
  fd_ = -1;
  if (st.ok() && ::rename(temp_.c_str(), target_.c_str()) != 0)
    st = IoError("cannot rename " + Quoted(temp_) + " to " + Quoted(target_) + ": " +
                 std::strerror(errno));
  if (st.ok()) temp_.clear();  // now the target
  Abandon();
  return st;
}

}  // namespace floe
