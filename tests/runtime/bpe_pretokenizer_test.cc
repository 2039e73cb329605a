// Byte-level BPE pre-tokenizers: hand-derived splits (the regex stated next to each group),
// the Unicode class table, and agreement with an independent regex engine (a golden file made
// by tests/runtime/gen_bpe_pretokenizer_golden.py with Python's `regex` module).
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "runtime/tokenizers/bpe_pretokenizer.h"
#include "runtime/tokenizers/unicode/unicode_flags.h"
#include "runtime/tokenizers/utf8.h"

using namespace floe;

namespace {

using Pieces = std::vector<std::string>;

// Splits well-formed UTF-8 text and returns the pieces as UTF-8.
Pieces Split(std::string_view name, std::string_view text) {
  const auto config = BpePreTokenizerFromName(name);
  REQUIRE(config.ok());
  std::vector<char32_t> cps;
  std::vector<size_t> offsets;
  for (size_t pos = 0; pos < text.size();) {
    const size_t n = Utf8CharLength(text.substr(pos));
    REQUIRE(n > 0);
    char32_t c = static_cast<uint8_t>(text[pos]);
    if (n > 1) c &= 0x7Fu >> n;
    for (size_t i = 1; i < n; ++i) c = (c << 6) | (static_cast<uint8_t>(text[pos + i]) & 0x3F);
    cps.push_back(c);
    offsets.push_back(pos);
    pos += n;
  }
  offsets.push_back(text.size());
  std::vector<uint16_t> flags;
  for (const char32_t c : cps) flags.push_back(UnicodeFlags(c));
  std::vector<uint32_t> words, scratch;
  PreTokenize(config->kind, cps.data(), flags.data(), cps.size(), &words, &scratch);
  Pieces pieces;
  size_t cp = 0;
  for (const uint32_t len : words) {
    REQUIRE(len > 0);
    pieces.emplace_back(text.substr(offsets[cp], offsets[cp + len] - offsets[cp]));
    cp += len;
  }
  REQUIRE(cp == cps.size());
  return pieces;
}

}  // namespace

TEST_CASE("Unicode classes: generated table", "[unit]") {
  CHECK(UnicodeVersion() == "14.0.0");
  CHECK(UnicodeFlags(U'a') == kUnicodeLetter);
  CHECK(UnicodeFlags(U'7') == kUnicodeNumber);
  CHECK(UnicodeFlags(U' ') == (kUnicodeSeparator | kUnicodeWhitespace));
  CHECK(UnicodeFlags(U'\n') == (kUnicodeControl | kUnicodeWhitespace));
  CHECK(UnicodeFlags(0x1C) == kUnicodeControl);  // not White_Space (str.isspace() says yes)
  CHECK(UnicodeFlags(0x85) == (kUnicodeControl | kUnicodeWhitespace));
  CHECK(UnicodeFlags(0xA0) == (kUnicodeSeparator | kUnicodeWhitespace));
  CHECK(UnicodeFlags(U'!') == kUnicodePunctuation);
  CHECK(UnicodeFlags(U'$') == kUnicodeSymbol);
  CHECK(UnicodeFlags(U'`') == kUnicodeSymbol);
  CHECK(UnicodeFlags(0x0301) == kUnicodeMark);       // combining acute
  CHECK(UnicodeFlags(0x00BD) == kUnicodeNumber);     // ½ (No)
  CHECK(UnicodeFlags(0x216B) == kUnicodeNumber);     // Ⅻ (Nl)
  CHECK(UnicodeFlags(0x4E2D) == kUnicodeLetter);     // 中
  CHECK(UnicodeFlags(0x1F600) == kUnicodeSymbol);    // 😀
  CHECK(UnicodeFlags(0x200B) == kUnicodeControl);    // ZERO WIDTH SPACE (Cf)
  CHECK(UnicodeFlags(0x0378) == kUnicodeUndefined);  // unassigned
  CHECK(UnicodeFlags(0xE000) == kUnicodeControl);    // private use
  CHECK(UnicodeFlags(0x20000) == kUnicodeLetter);    // CJK Extension B
  CHECK(UnicodeFlags(0x10FFFF) == kUnicodeUndefined);
  CHECK(UnicodeFlags(0x110000) == kUnicodeUndefined);
  CHECK(UnicodeFlags(0xFFFFFFFF) == kUnicodeUndefined);
}

TEST_CASE("pre-tokenizer names", "[unit]") {
  const auto kind = [](std::string_view name) {
    return BpePreTokenizerFromName(name).value().kind;
  };
  CHECK(kind("") == BpePreTokenizerKind::kDefault);
  CHECK(kind("default") == BpePreTokenizerKind::kDefault);
  CHECK(kind("gpt-2") == BpePreTokenizerKind::kGpt2);
  for (const char* name : {"llama3", "llama-v3", "llama-bpe", "falcon3"}) {
    const auto c = BpePreTokenizerFromName(name).value();
    CHECK(c.kind == BpePreTokenizerKind::kLlama3);
    CHECK(c.ignore_merges);
    CHECK(c.add_bos);
  }
  CHECK_FALSE(BpePreTokenizerFromName("dbrx").value().ignore_merges);
  CHECK(kind("qwen2") == BpePreTokenizerKind::kQwen2);
  CHECK(kind("smollm") == BpePreTokenizerKind::kSmollm);
  const auto bad = BpePreTokenizerFromName("tekken");
  CHECK(bad.status().code() == StatusCode::kUnsupported);
  CHECK(bad.status().message().find("tekken") != std::string::npos);
}

TEST_CASE("gpt-2 pre-tokenizer: hand-derived splits", "[unit]") {
  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  CHECK(Split("gpt-2", "Hello world") == Pieces{"Hello", " world"});
  CHECK(Split("gpt-2", "I'm here's") == Pieces{"I", "'m", " here", "'s"});
  CHECK(Split("gpt-2", "I'M") == Pieces{"I", "'", "M"});  // contractions are lowercase only
  CHECK(Split("gpt-2", "abc123 456") == Pieces{"abc", "123", " 456"});
  CHECK(Split("gpt-2", "a  b") == Pieces{"a", " ", " b"});  // \s+(?!\S) leaves the last space
  CHECK(Split("gpt-2", "a   ") == Pieces{"a", "   "});      // at the end the whole run
  CHECK(Split("gpt-2", "x\n\ny") == Pieces{"x", "\n", "\n", "y"});  // only ' ' joins a word
  CHECK(Split("gpt-2", "!!! ??") == Pieces{"!!!", " ??"});
  CHECK(Split("gpt-2", "F\xC3\xBChrer 4\xC2\xBD") ==
        Pieces{"F\xC3\xBChrer", " 4\xC2\xBD"});                   // ½ is \p{N}
  CHECK(Split("gpt-2", "\xC2\xA0x") == Pieces{"\xC2\xA0", "x"});  // NBSP is \s but not ' '
  CHECK(Split("gpt-2", "").empty());
}

TEST_CASE("llama-bpe pre-tokenizer: hand-derived splits", "[unit]") {
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*
  // |\s*[\r\n]+|\s+(?!\S)|\s+
  CHECK(Split("llama-bpe", "I'M here") == Pieces{"I", "'M", " here"});
  CHECK(Split("llama-bpe", "12345 67") == Pieces{"123", "45", " ", "67"});
  CHECK(Split("llama-bpe", "Hello!world") == Pieces{"Hello", "!world"});
  CHECK(Split("llama-bpe", "a\n\nb") == Pieces{"a", "\n\n", "b"});
  CHECK(Split("llama-bpe", "x  \n  y") == Pieces{"x", "  \n", " ", " y"});
  CHECK(Split("llama-bpe", "...\n\nok") == Pieces{"...\n\n", "ok"});
  CHECK(Split("llama-bpe", " $5") == Pieces{" $", "5"});
  CHECK(Split("llama-bpe", "\tword") == Pieces{"\tword"});
}

TEST_CASE("qwen2 pre-tokenizer: hand-derived splits", "[unit]") {
  // As llama-bpe with \p{N} for \p{N}{1,3}.
  CHECK(Split("qwen2", "12345") == Pieces{"1", "2", "3", "4", "5"});
  CHECK(Split("qwen2", "I'M 2x") == Pieces{"I", "'M", " ", "2", "x"});
  CHECK(Split("qwen2", "Hello, world!\n") == Pieces{"Hello", ",", " world", "!\n"});
}

TEST_CASE("smollm pre-tokenizer: hand-derived splits", "[unit]") {
  // \p{N}, then the gpt-2 regex on each piece.
  CHECK(Split("smollm", "abc 123") == Pieces{"abc", " ", "1", "2", "3"});
  CHECK(Split("smollm", "x\xD9\xA3y") == Pieces{"x", "\xD9\xA3", "y"});  // ٣ ARABIC-INDIC THREE
  CHECK(Split("smollm", "it's") == Pieces{"it", "'s"});
}

TEST_CASE("default pre-tokenizer: hand-derived splits", "[unit]") {
  // [\p{P}\$\+<=>\^~\|]+, then the gpt-2 regex, then \p{N}+, then [0-9][0-9][0-9].
  CHECK(Split("default", "Hello, world!") == Pieces{"Hello", ",", " world", "!"});
  CHECK(Split("default", "a+=b") == Pieces{"a", "+=", "b"});
  CHECK(Split("default", "1234567") == Pieces{"123", "456", "7"});
  CHECK(Split("default", " 12345x") == Pieces{" ", "123", "45", "x"});
  CHECK(Split("default", "it's") == Pieces{"it", "'", "s"});  // ' is \p{P}: cut out first
  CHECK(Split("default", "a`b") == Pieces{"a", "`", "b"});    // ` is \p{S}, not in the class
}

TEST_CASE("pre-tokenizers agree with Python's regex module (golden file)", "[unit]") {
  std::ifstream in(FLOE_BPE_PRETOKENIZER_GOLDEN);
  REQUIRE(in.good());
  const char* kinds[] = {"gpt-2", "llama-bpe", "qwen2", "smollm", "default"};
  size_t lines = 0, checked = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    std::istringstream cols(line);
    std::string hex;
    std::getline(cols, hex, '\t');
    std::string text;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      text.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    for (const char* kind : kinds) {
      std::string col;
      std::getline(cols, col, '\t');
      std::vector<size_t> want;
      if (col != "-") {
        std::istringstream nums(col);
        for (std::string n; std::getline(nums, n, ',');) want.push_back(std::stoul(n));
      }
      std::vector<size_t> got;
      for (const std::string& piece : Split(kind, text)) {
        size_t cps = 0;
        for (const char c : piece) cps += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
        got.push_back(cps);
      }
      INFO(kind << " line " << lines + 1 << ": " << hex);
      CHECK(got == want);
      ++checked;
    }
  }
  CHECK(lines == 800);
  CHECK(checked == 800 * 5);
}
