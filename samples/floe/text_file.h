// Parts of a text file for the floe CLI (`eval-attention`, `analyze-heads`, `plan-heads`), read
// without the rest: evaluation windows are a few hundred kilobytes of files that may be
// gigabytes (docs/allocation-audit.md item 16).
#pragma once

#include <cstddef>
#include <string>

#include "platform/base/status.h"

namespace floe::cli {

// kNotFound naming the file when it cannot be opened.
Result<size_t> TextFileSize(const std::string& path);
// Bytes [begin, begin + n) of the file; fewer past its end.
Result<std::string> ReadTextRange(const std::string& path, size_t begin, size_t n);
// The first '\n' at or after byte `at`, read 1 MiB at a time; the file's size when none.
Result<size_t> FindNewline(const std::string& path, size_t at);

}  // namespace floe::cli
