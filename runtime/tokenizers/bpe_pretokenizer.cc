#include "runtime/tokenizers/bpe_pretokenizer.h"

#include <string>
#include <utility>

#include "runtime/tokenizers/unicode/unicode_flags.h"

namespace floe {

namespace {

constexpr char32_t kOutOfRange = 0xFFFFFFFF;
constexpr uint16_t kWordClasses = kUnicodeWhitespace | kUnicodeLetter | kUnicodeNumber;

// One piece cps[begin, end) being split; reads past either end see nothing (code point
// kOutOfRange, flags 0), which is what lookahead at the end of the piece sees.
class Piece {
 public:
  Piece(const char32_t* cps, const uint16_t* flags, size_t begin, size_t end,
        std::vector<uint32_t>* out)
      : cps_(cps), flags_(flags), begin_(begin), end_(end), out_(out) {}

  size_t begin() const { return begin_; }
  size_t end() const { return end_; }
  char32_t Cp(size_t i) const { return i < end_ ? cps_[i] : kOutOfRange; }
  uint16_t Flags(size_t i) const { return i < end_ ? flags_[i] : 0; }
  // "Other": a code point in the piece that is neither \s, \p{L} nor \p{N}.
  bool IsOther(size_t i) const { return i < end_ && (flags_[i] & kWordClasses) == 0; }
  void Emit(size_t length) const { out_->push_back(static_cast<uint32_t>(length)); }

 private:
  const char32_t* cps_;
  const uint16_t* flags_;
  size_t begin_, end_;
  std::vector<uint32_t>* out_;
};

char32_t AsciiLower(char32_t c) { return c >= U'A' && c <= U'Z' ? c + (U'a' - U'A') : c; }

// The length (2 or 3) of a contraction 's 't 're 've 'm 'll 'd at pos, else 0. fold: match
// either ASCII case ((?i:...)).
size_t ContractionLength(const Piece& p, size_t pos, bool fold) {
  if (p.Cp(pos) != U'\'') return 0;
  const auto at = [&](size_t i) { return fold ? AsciiLower(p.Cp(i)) : p.Cp(i); };
  const char32_t c1 = at(pos + 1);
  if (c1 == U's' || c1 == U't' || c1 == U'm' || c1 == U'd') return 2;
  const char32_t c2 = at(pos + 2);
  if ((c1 == U'r' && c2 == U'e') || (c1 == U'v' && c2 == U'e') || (c1 == U'l' && c2 == U'l'))
    return 3;
  return 0;
}

// The length of the whitespace run at pos under \s+(?!\S)|\s+: all of it at the end of the
// piece or when it is one code point, else all but its last (which then leads the next word).
// 0 when pos is not whitespace.
size_t WhitespaceLength(const Piece& p, size_t pos) {
  size_t n = 0;
  while (p.Flags(pos + n) & kUnicodeWhitespace) ++n;
  return (n > 1 && pos + n < p.end()) ? n - 1 : n;
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
void SplitGpt2(const Piece& p) {
  for (size_t pos = p.begin(); pos < p.end();) {
    size_t len = ContractionLength(p, pos, /*fold=*/false);
    if (len == 0) {
      // " ?X+": an optional space, then a run of one class X, which the code point after the
      // space (or at pos) decides.
      const size_t body = pos + (p.Cp(pos) == U' ' ? 1 : 0);
      const uint16_t f = p.Flags(body);
      size_t q = body;
      if (f & kUnicodeLetter) {
        while (p.Flags(q) & kUnicodeLetter) ++q;
      } else if (f & kUnicodeNumber) {
        while (p.Flags(q) & kUnicodeNumber) ++q;
      } else if (p.IsOther(body)) {
        while (p.IsOther(q)) ++q;
      }
      len = q - body;
      if (len > 0) {
        len = q - pos;
      } else {
        // \s+(?!\S)|\s+ (every code point that gets here is whitespace).
        len = WhitespaceLength(p, pos);
        if (len == 0) len = 1;
      }
    }
    p.Emit(len);
    pos += len;
  }
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}
// | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
void SplitLlama3(const Piece& p, size_t max_digits) {
  const auto is_crlf = [&](size_t i) { return p.Cp(i) == U'\r' || p.Cp(i) == U'\n'; };
  for (size_t pos = p.begin(); pos < p.end();) {
    const size_t contraction = ContractionLength(p, pos, /*fold=*/true);
    if (contraction > 0) {
      p.Emit(contraction);
      pos += contraction;
      continue;
    }
    const uint16_t f = p.Flags(pos);
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!is_crlf(pos) && !(f & kUnicodeNumber) &&
        ((f & kUnicodeLetter) || (p.Flags(pos + 1) & kUnicodeLetter))) {
      size_t q = pos + 1;
      while (p.Flags(q) & kUnicodeLetter) ++q;
      p.Emit(q - pos);
      pos = q;
      continue;
    }
    // \p{N}{1,max_digits}
    if (f & kUnicodeNumber) {
      size_t q = pos + 1;
      while (q - pos < max_digits && (p.Flags(q) & kUnicodeNumber)) ++q;
      p.Emit(q - pos);
      pos = q;
      continue;
    }
    //  ?[^\s\p{L}\p{N}]+[\r\n]*
    const size_t body = pos + (p.Cp(pos) == U' ' ? 1 : 0);
    if (p.IsOther(body)) {
      size_t q = body;
      while (p.IsOther(q)) ++q;
      while (is_crlf(q)) ++q;
      p.Emit(q - pos);
      pos = q;
      continue;
    }
    // \s*[\r\n]+: up to the last CR/LF of the whitespace run.
    size_t run_end = pos, last_crlf_end = 0;
    while (p.Flags(run_end) & kUnicodeWhitespace) {
      if (is_crlf(run_end)) last_crlf_end = run_end + 1;
      ++run_end;
    }
    size_t len = last_crlf_end > 0 ? last_crlf_end - pos : WhitespaceLength(p, pos);
    if (len == 0) len = 1;  // unreachable: every code point matches an alternative
    p.Emit(len);
    pos += len;
  }
}

// A regex that matches single code points or runs of one class: each match is a piece, and so
// is each unmatched stretch between matches.
template <typename Match>
void SplitByMatches(const Piece& p, Match match_length) {
  size_t gap = p.begin();
  for (size_t pos = p.begin(); pos < p.end();) {
    const size_t len = match_length(pos);
    if (len == 0) {
      ++pos;
      continue;
    }
    if (pos > gap) p.Emit(pos - gap);
    p.Emit(len);
    pos += len;
    gap = pos;
  }
  if (p.end() > gap) p.Emit(p.end() - gap);
}

// [\p{P}\$\+<=>\^~\|]+
void SplitPunctuationRuns(const Piece& p) {
  const auto is_member = [&](size_t i) {
    const char32_t c = p.Cp(i);
    return (p.Flags(i) & kUnicodePunctuation) || c == U'$' || c == U'+' || c == U'<' || c == U'=' ||
           c == U'>' || c == U'^' || c == U'~' || c == U'|';
  };
  SplitByMatches(p, [&](size_t pos) {
    size_t q = pos;
    while (q < p.end() && is_member(q)) ++q;
    return q - pos;
  });
}

// \p{N}+ (runs) or \p{N} (single code points).
void SplitNumbers(const Piece& p, bool runs) {
  SplitByMatches(p, [&](size_t pos) -> size_t {
    if (!(p.Flags(pos) & kUnicodeNumber)) return 0;
    if (!runs) return 1;
    size_t q = pos;
    while (p.Flags(q) & kUnicodeNumber) ++q;
    return q - pos;
  });
}

// [0-9][0-9][0-9]
void SplitAsciiDigitTriples(const Piece& p) {
  const auto digit = [&](size_t i) { return p.Cp(i) >= U'0' && p.Cp(i) <= U'9'; };
  SplitByMatches(p, [&](size_t pos) -> size_t {
    return digit(pos) && digit(pos + 1) && digit(pos + 2) ? 3 : 0;
  });
}

enum class Stage {
  kGpt2,
  kLlama3,
  kQwen2,
  kPunctuationRuns,
  kNumberRuns,
  kSingleNumbers,
  kDigitTriples
};

void RunStage(Stage stage, const Piece& p) {
  switch (stage) {
    case Stage::kGpt2:
      return SplitGpt2(p);
    case Stage::kLlama3:
      return SplitLlama3(p, 3);
    case Stage::kQwen2:
      return SplitLlama3(p, 1);
    case Stage::kPunctuationRuns:
      return SplitPunctuationRuns(p);
    case Stage::kNumberRuns:
      return SplitNumbers(p, /*runs=*/true);
    case Stage::kSingleNumbers:
      return SplitNumbers(p, /*runs=*/false);
    case Stage::kDigitTriples:
      return SplitAsciiDigitTriples(p);
  }
}

}  // namespace

Result<BpePreTokenizerConfig> BpePreTokenizerFromName(std::string_view name) {
  using K = BpePreTokenizerKind;
  const auto in = [&](std::initializer_list<std::string_view> names) {
    for (const std::string_view n : names) {
      if (name == n) return true;
    }
    return false;
  };
  if (name.empty() || name == "default") return BpePreTokenizerConfig{K::kDefault, false, false};
  if (in({"gpt-2", "phi-2", "roberta-bpe", "gigachat", "jina-es", "jina-de", "jina-v1-en", "mpt",
          "olmo", "jais"})) {
    return BpePreTokenizerConfig{K::kGpt2, false, false};
  }
  if (in({"llama3", "llama-v3", "llama-bpe", "falcon3"}))
    return BpePreTokenizerConfig{K::kLlama3, true, true};
  if (in({"dbrx", "smaug-bpe"})) return BpePreTokenizerConfig{K::kLlama3, false, false};
  if (in({"qwen2", "deepseek-r1-qwen", "megrez", "stablelm2"})) {
    return BpePreTokenizerConfig{K::kQwen2, false, false};
  }
  if (in({"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"})) {
    return BpePreTokenizerConfig{K::kSmollm, false, false};
  }
  return Unsupported(
      "tokenizer.ggml.pre '" + std::string(name) +
      "' is not supported (supported: default, gpt-2, llama-bpe, qwen2, smollm and their "
      "aliases)");
}

void PreTokenize(BpePreTokenizerKind kind, const char32_t* cps, const uint16_t* flags, size_t n,
                 std::vector<uint32_t>* words, std::vector<uint32_t>* scratch) {
  if (n == 0) return;
  Stage stages[4];
  size_t count = 0;
  switch (kind) {
    case BpePreTokenizerKind::kGpt2:
      stages[count++] = Stage::kGpt2;
      break;
    case BpePreTokenizerKind::kLlama3:
      stages[count++] = Stage::kLlama3;
      break;
    case BpePreTokenizerKind::kQwen2:
      stages[count++] = Stage::kQwen2;
      break;
    case BpePreTokenizerKind::kSmollm:
      stages[count++] = Stage::kSingleNumbers;
      stages[count++] = Stage::kGpt2;
      break;
    case BpePreTokenizerKind::kDefault:
      stages[count++] = Stage::kPunctuationRuns;
      stages[count++] = Stage::kGpt2;
      stages[count++] = Stage::kNumberRuns;
      stages[count++] = Stage::kDigitTriples;
      break;
  }
  if (count == 1) {
    RunStage(stages[0], Piece(cps, flags, 0, n, words));
    return;
  }
  // Each stage splits every piece of the one before; the last writes to *words.
  std::vector<uint32_t> pieces;  // the previous stage's output
  pieces.swap(*scratch);
  pieces.assign(1, static_cast<uint32_t>(n));
  std::vector<uint32_t> next;
  for (size_t s = 0; s < count; ++s) {
    const bool last = s + 1 == count;
    std::vector<uint32_t>* out = last ? words : &next;
    if (!last) next.clear();
    size_t begin = 0;
    for (const uint32_t len : pieces) {
      RunStage(stages[s], Piece(cps, flags, begin, begin + len, out));
      begin += len;
    }
    if (!last) pieces.swap(next);
  }
  pieces.swap(*scratch);  // keep the capacity for the next call
}

}  // namespace floe
