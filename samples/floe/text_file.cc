#include "text_file.h"

#include <algorithm>
#include <fstream>

namespace floe::cli {

Result<size_t> TextFileSize(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return NotFound("cannot open '" + path + "'");
  return size_t(std::max<std::streamoff>(0, in.tellg()));
}

Result<std::string> ReadTextRange(const std::string& path, size_t begin, size_t n) {
  FLOE_ASSIGN_OR_RETURN(const size_t size, TextFileSize(path));
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open '" + path + "'");
  std::string buf(std::min(n, size - std::min(begin, size)), '\0');
  in.seekg(std::streamoff(begin));
  in.read(buf.data(), std::streamsize(buf.size()));
  buf.resize(size_t(std::max<std::streamsize>(0, in.gcount())));
  return buf;
}

Result<size_t> FindNewline(const std::string& path, size_t at) {
  constexpr size_t kChunk = size_t(1) << 20;
  FLOE_ASSIGN_OR_RETURN(const size_t size, TextFileSize(path));
  for (; at < size; at += kChunk) {
    FLOE_ASSIGN_OR_RETURN(const std::string chunk, ReadTextRange(path, at, kChunk));
    if (const size_t nl = chunk.find('\n'); nl != std::string::npos) return at + nl;
    if (chunk.empty()) break;
  }
  return size;
}

}  // namespace floe::cli
