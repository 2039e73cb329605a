// Files that survive a kill -9 or a power cut: the results file (one JSON line per document,
// appended and fsync'd when the document completes) and small files replaced atomically
// (temporary file, fsync, rename, fsync of the folder).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace floe::longdoc {

class ResultsFile {
 public:
  ResultsFile() = default;
  ~ResultsFile();
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;

  // path "-": stdout (no resume). Otherwise a new file, or with `resume` an existing one (or a new
  // one when none exists): its complete lines are kept (their "document" values returned in
  // *done), a partial last line (a write cut short) is cut off. Without `resume` an existing file
  // is refused, never overwritten.
  bool Open(const std::string& path, bool resume, std::vector<std::string>* done,
            std::string* error);
  // Writes line + '\n' and, for a file, fsyncs it.
  bool Append(const std::string& line, std::string* error);

 private:
  int fd_ = -1;
  bool own_ = false;
  std::string path_;
};

// One complete line of a results file, and the document it is about.
struct ResultLine {
  std::string document;  // its "document" value
  std::string text;      // the line, without its '\n'
};
// The complete lines of a results file (a partial last line, cut short by a kill, is left out;
// *complete is the byte count of the complete ones). False when the file cannot be read or a
// line is not a result line.
bool ReadResultLines(const std::string& path, std::vector<ResultLine>* lines, uint64_t* complete,
                     std::string* error);

// Writes `data` to `path` atomically (temp + fsync + rename + fsync of the folder).
bool WriteFileAtomically(const std::string& path, const std::string& data, std::string* error);
// The whole file; false when it cannot be read.
bool ReadWholeFile(const std::string& path, std::string* data);

}  // namespace floe::longdoc
