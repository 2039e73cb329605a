#include "runtime/tokenizers/utf8.h"

#include <cstdint>

namespace floe {

Utf8Scan ScanUtf8(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) return {Utf8Scan::kChar, 1};
  // Expected length and the allowed range of the second byte (Unicode Table 3-7).
  size_t need = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {Utf8Scan::kInvalid, 1};  // 0x80..0xC1, 0xF5..0xFF can never start a character
  }
  for (size_t i = 1; i < need; ++i) {
    if (i >= s.size()) return {Utf8Scan::kIncomplete, s.size()};
    const uint8_t b = byte(i);
    const bool ok = i == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return {Utf8Scan::kInvalid, i};
  }
  return {Utf8Scan::kChar, need};
}

size_t Utf8CharLength(std::string_view s) {
  if (s.empty()) return 0;
  const Utf8Scan r = ScanUtf8(s);
  return r.kind == Utf8Scan::kChar ? r.length : 0;
}

bool IsValidUtf8(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t n = Utf8CharLength(s.substr(pos));
    if (n == 0) return false;
    pos += n;
  }
  return true;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    out->append(kUtf8Replacement);
  } else if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string Utf8StreamDecoder::Push(std::string_view bytes) {
  std::string out;
  if (bytes.empty()) return out;
  // Complete the pending character first, so the common case (no pending bytes) needs no copy.
  std::string joined;
  std::string_view in = bytes;
  if (!pending_.empty()) {
    joined = pending_;
    joined.append(bytes);
    in = joined;
    pending_.clear();
  }
  out.reserve(in.size());
  size_t pos = 0;
  while (pos < in.size()) {
    const Utf8Scan r = ScanUtf8(in.substr(pos));
    if (r.kind == Utf8Scan::kIncomplete) {
      pending_.assign(in.substr(pos));
      break;
    }
    if (r.kind == Utf8Scan::kChar) {
      out.append(in.substr(pos, r.length));
    } else {
      out.append(kUtf8Replacement);
    }
    pos += r.length;
  }
  return out;
}

std::string Utf8StreamDecoder::Flush() {
  std::string out;
  if (!pending_.empty()) out.assign(kUtf8Replacement);  // an unfinished character
  pending_.clear();
  return out;
}

}  // namespace floe
