// Unicode code point classes for the byte-level BPE pre-tokenizers
// (runtime/tokenizers/bpe_pretokenizer.h): the General Category group of each code point, plus the
// White_Space property, as llama.cpp's unicode_cpt_flags defines them (\p{N}, \p{L}, \p{P}, ... and
// \s in the pre-tokenizer regexes). The data is generated from Python's unicodedata by
// gen_unicode_tables.py (Unicode version: UnicodeVersion()); code points assigned after that
// version are kUndefined here.
#pragma once

#include <cstdint>
#include <string_view>

namespace floe {

// Exactly one of the category bits is set for every code point <= U+10FFFF; kWhitespace may
// be set in addition. Values > U+10FFFF get kUndefined.
enum UnicodeFlag : uint16_t {
  kUnicodeUndefined = 0x001,    // Cn (unassigned)
  kUnicodeNumber = 0x002,       // \p{N}: Nd Nl No
  kUnicodeLetter = 0x004,       // \p{L}: Lu Ll Lt Lm Lo
  kUnicodeSeparator = 0x008,    // \p{Z}: Zs Zl Zp
  kUnicodeMark = 0x010,         // \p{M}: Mn Mc Me
  kUnicodePunctuation = 0x020,  // \p{P}: Pc Pd Ps Pe Pi Pf Po
  kUnicodeSymbol = 0x040,       // \p{S}: Sm Sc Sk So
  kUnicodeControl = 0x080,      // \p{C} less Cn: Cc Cf Cs Co
  kUnicodeWhitespace = 0x100,  // \s: the White_Space property (U+0009..U+000D, U+0020, U+0085, ...)
};

// The flags of one code point. O(1) below U+10000 (a table built on first use, thread-safe),
// a binary search over the ranges above.
uint16_t UnicodeFlags(char32_t cp);

// The Unicode version the table was generated from, e.g. "14.0.0".
std::string_view UnicodeVersion();

}  // namespace floe
