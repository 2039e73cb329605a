// Unicode helpers for the chat-template renderer: Python string methods work on code points, not
// bytes. Decoding is lossless: an invalid byte b becomes the lone surrogate 0xDC00 + b
// ("surrogateescape") and encodes back to the same byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace floe::jinja {

std::vector<uint32_t> DecodeUtf8(std::string_view s);
std::string EncodeUtf8(const std::vector<uint32_t>& cps);
void AppendUtf8(uint32_t cp, std::string* out);
size_t CountCodePoints(std::string_view s);

// Python str.isspace() for the code points chat templates meet (ASCII, NBSP, the Unicode spaces).
bool IsSpaceCp(uint32_t cp);
// Case mapping for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic; others unchanged.
uint32_t ToUpperCp(uint32_t cp);
uint32_t ToLowerCp(uint32_t cp);
bool IsCasedLetter(uint32_t cp);  // has an upper/lower case form (the sets above)
bool IsAlnumCp(uint32_t cp);      // letters and digits, approximate beyond the sets above

std::string Upper(std::string_view s);
std::string Lower(std::string_view s);
// Python str.title(): the first cased letter after a non-letter is upper-cased, others lowered.
std::string PyTitle(std::string_view s);
// Python str.capitalize(): first code point upper, the rest lower.
std::string Capitalize(std::string_view s);
// Python str.strip(chars) / lstrip / rstrip; chars == nullptr: whitespace.
std::string Strip(std::string_view s, const std::string* chars, bool left, bool right);

}  // namespace floe::jinja
