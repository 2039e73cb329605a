#include "durable_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace floe::longdoc {

namespace {

std::string Errno() { return std::strerror(errno); }

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= size_t(w);
  }
  return true;
}

void SyncFolder(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

ResultsFile::~ResultsFile() {
  if (own_ && fd_ >= 0) ::close(fd_);
}

bool ReadResultLines(const std::string& path, std::vector<ResultLine>* lines, uint64_t* complete,
                     std::string* error) {
  std::string data;
  if (!ReadWholeFile(path, &data)) {
    *error = "cannot read '" + path + "'";
    return false;
  }
  size_t end = data.rfind('\n');
  end = end == std::string::npos ? 0 : end + 1;
  *complete = end;
  std::istringstream in(data.substr(0, end));
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("document")) {
      *error = path + ":" + std::to_string(n) + ": not a floe longdoc result line";
      return false;
    }
    const auto& d = j["document"];
    lines->push_back({d.is_string() ? d.get<std::string>() : d.dump(), line});
  }
  return true;
}

bool ResultsFile::Open(const std::string& path, bool resume, std::vector<std::string>* done,
                       std::string* error) {
  path_ = path;
  if (path == "-") {
    if (resume) {
      *error = "--resume needs --out FILE";
      return false;
    }
    fd_ = STDOUT_FILENO;
    return true;
  }
  struct stat st;
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && !resume) {
    *error = "'" + path + "' exists; pass --resume to continue it, or remove it";
    return false;
  }
  if (exists) {
    std::vector<ResultLine> lines;
    uint64_t complete = 0;
    if (!ReadResultLines(path, &lines, &complete, error)) return false;
    for (const ResultLine& l : lines) done->push_back(l.document);
    if (::truncate(path.c_str(), off_t(complete)) != 0) {
      *error = "cannot cut the partial last line of '" + path + "': " + Errno();
      return false;
    }
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    *error = "cannot open '" + path + "' for writing: " + Errno();
    return false;
  }
  own_ = true;
  if (!exists) SyncFolder(path);
  return true;
}

bool ResultsFile::Append(const std::string& line, std::string* error) {
  const std::string l = line + "\n";
  if (!WriteAll(fd_, l.data(), l.size()) || (own_ && ::fsync(fd_) != 0)) {
    *error = "cannot write '" + path_ + "': " + Errno();
    return false;
  }
  return true;
}

bool WriteFileAtomically(const std::string& path, const std::string& data, std::string* error) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "cannot create '" + tmp + "': " + Errno();
    return false;
  }
  const bool ok = WriteAll(fd, data.data(), data.size()) && ::fsync(fd) == 0;
  const std::string why = ok ? "" : Errno();
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot write '" + path + "': " + (ok ? Errno() : why);
    ::unlink(tmp.c_str());
    return false;
  }
  SyncFolder(path);
  return true;
}

bool ReadWholeFile(const std::string& path, std::string* data) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  data->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace floe::longdoc
