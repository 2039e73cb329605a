#include "runtime/tokenizers/unicode/unicode_flags.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>

namespace floe {

namespace {

struct UnicodeRange {
  uint32_t first;  // first code point of the range
  uint16_t flags;
};

#include "runtime/tokenizers/unicode/unicode_tables.inc"

static_assert(kUnicodeRanges[0].first == 0, "the ranges must start at U+0000");

constexpr char32_t kMaxCodePoint = 0x10FFFF;
constexpr char32_t kBmpSize = 0x10000;

uint16_t LookupRange(char32_t cp) {
  // The last range whose first code point is <= cp.
  const auto* end = std::end(kUnicodeRanges);
  const auto* it = std::upper_bound(std::begin(kUnicodeRanges), end, static_cast<uint32_t>(cp),
                                    [](uint32_t v, const UnicodeRange& r) { return v < r.first; });
  return (it - 1)->flags;
}

// Flags of every code point below U+10000, expanded from the ranges once.
const std::array<uint16_t, kBmpSize>& BmpTable() {
  static const std::unique_ptr<std::array<uint16_t, kBmpSize>> table = [] {
    auto t = std::make_unique<std::array<uint16_t, kBmpSize>>();
    const size_t n = std::size(kUnicodeRanges);
    for (size_t i = 0; i < n && kUnicodeRanges[i].first < kBmpSize; ++i) {
      const uint32_t end =
          i + 1 < n ? std::min<uint32_t>(kUnicodeRanges[i + 1].first, kBmpSize) : kBmpSize;
      std::fill(t->begin() + kUnicodeRanges[i].first, t->begin() + end, kUnicodeRanges[i].flags);
    }
    return t;
  }();
  return *table;
}

}  // namespace

uint16_t UnicodeFlags(char32_t cp) {
  if (cp < kBmpSize) return BmpTable()[cp];
  if (cp > kMaxCodePoint) return kUnicodeUndefined;
  return LookupRange(cp);
}

std::string_view UnicodeVersion() { return FLOE_UNICODE_VERSION; }

}  // namespace floe
