// UTF-8 helpers for tokenizers and text streaming. Validity follows RFC 3629 / Unicode 15
// Table 3-7 ("well-formed UTF-8 byte sequences"): no overlong forms, no surrogates
// (U+D800..U+DFFF), nothing above U+10FFFF.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace floe {

// U+FFFD REPLACEMENT CHARACTER, UTF-8 encoded.
inline constexpr std::string_view kUtf8Replacement = "\xEF\xBF\xBD";

// What the bytes at the start of a string hold.
struct Utf8Scan {
  enum Kind { kChar, kInvalid, kIncomplete };
  Kind kind;
  // kChar: the character's length (1..4). kInvalid: the length of the "maximal subpart"
  // (Unicode 15 §3.9, U+FFFD substitution) to replace by one U+FFFD (1..3).
  // kIncomplete: how many bytes there are (all of s): a valid prefix that needs more bytes.
  size_t length;
};

// Classifies the first character of s. s must not be empty.
Utf8Scan ScanUtf8(std::string_view s);

// Length (1..4) of the well-formed character that starts s, or 0 when s is empty or does not
// start with one (an invalid or truncated sequence).
size_t Utf8CharLength(std::string_view s);

bool IsValidUtf8(std::string_view s);

// Appends the UTF-8 encoding of a code point (U+FFFD for surrogates and values > U+10FFFF).
void AppendUtf8(char32_t cp, std::string* out);

// Reassembles UTF-8 text that arrives in pieces (one token's bytes at a time): Push returns
// only complete characters; a character split across pushes comes out once its last byte has
// arrived. Ill-formed sequences come out as U+FFFD (one per maximal subpart), so the output
// is always valid UTF-8. Flush returns what is left (an unfinished character becomes U+FFFD)
// and resets the decoder.
class Utf8StreamDecoder {
 public:
  std::string Push(std::string_view bytes);
  std::string Flush();
  // Bytes held back waiting for the rest of a character (0..3).
  size_t pending() const { return pending_.size(); }

 private:
  std::string pending_;  // a valid, incomplete prefix of one character
};

}  // namespace floe
