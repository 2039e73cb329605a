#include "runtime/tokenizers/spm_tokenizer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "runtime/tokenizers/utf8.h"

namespace floe {

namespace {

// Symbol indices are 32-bit: text longer than this is encoded in pieces (split before a "▁"
// where one is near, else at a character boundary). Far beyond any real prompt.
constexpr size_t kMaxChunkBytes = size_t{1} << 30;

// Where to cut s (longer than kMaxChunkBytes) so that the first part is at most that long.
size_t ChunkEnd(std::string_view s) {
  size_t end = kMaxChunkBytes;
  const size_t space = s.substr(0, end).rfind(kSpmSpace);
  if (space != std::string_view::npos && space > 0 && end - space < (size_t{1} << 20)) return space;
  // Back up over continuation bytes (at most 3) to a character start.
  for (int i = 0; i < 3 && (static_cast<uint8_t>(s[end]) & 0xC0) == 0x80; ++i) --end;
  return end;
}

// A run of text that is (so far) one piece. Symbols form a doubly linked list; a symbol
// absorbed into its left neighbour gets len 0.
struct Symbol {
  uint32_t start, len;
  int32_t prev, next;
  int32_t id;    // piece id, or -1 (a character that is no piece: byte fallback)
  int32_t part;  // >= 0: index in `parts` of an unused piece to resegment on output
};

// A merge into an unused piece, remembered so that output can split it again.
struct Part {
  uint32_t start, len;
  int32_t id;
  int32_t left, right;  // child parts, or -1 for a piece emitted as is
};

// A candidate merge of two adjacent symbols.
struct Bigram {
  float score;
  int32_t left, right;
  uint32_t size;
  int32_t id;
};

// Heap order: highest score first; on equal scores the leftmost pair.
bool LowerPriority(const Bigram& a, const Bigram& b) {
  return a.score < b.score || (a.score == b.score && a.left > b.left);
}

}  // namespace

struct SpmTokenizer::Workspace {
  std::vector<Symbol> symbols;
  std::vector<Bigram> heap;
  std::vector<Part> parts;
  std::vector<int32_t> stack;
};

Result<SpmTokenizer> SpmTokenizer::Create(SpmVocab vocab) {
  const size_t n = vocab.tokens.size();
  if (n == 0) return InvalidArgument("vocabulary is empty");
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return InvalidArgument("vocabulary has " + std::to_string(n) + " tokens (too many)");
  }
  if (vocab.scores.size() != n || vocab.types.size() != n) {
    return CorruptData("vocabulary has " + std::to_string(n) + " tokens but " +
                       std::to_string(vocab.scores.size()) + " scores and " +
                       std::to_string(vocab.types.size()) + " types");
  }
  const auto check_id = [n](int32_t id, const char* what) -> Status {
    if (id < 0 || static_cast<size_t>(id) >= n) {
      return CorruptData(std::string("vocabulary: ") + what + " id " + std::to_string(id) +
                         " is outside 0.." + std::to_string(n - 1));
    }
    return Status::Ok();
  };
  for (size_t i = 0; i < n; ++i)
    if (vocab.tokens[i].size() > kMaxTokenBytes)
      return CorruptData("vocabulary: token " + std::to_string(i) + " is " +
                         std::to_string(vocab.tokens[i].size()) + " bytes long (at most " +
                         std::to_string(kMaxTokenBytes) + ")");
  FLOE_RETURN_IF_ERROR(check_id(vocab.bos, "BOS"));
  FLOE_RETURN_IF_ERROR(check_id(vocab.eos, "EOS"));
  FLOE_RETURN_IF_ERROR(check_id(vocab.unk, "unknown-token"));
  if (vocab.eot != -1) FLOE_RETURN_IF_ERROR(check_id(vocab.eot, "EOT"));

  SpmTokenizer t;
  t.byte_tokens_.fill(vocab.unk);
  std::array<bool, 256> have_byte{};
  t.token_bytes_.resize(n);
  t.all_pieces_.reserve(n);
  t.mergeable_pieces_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& piece = vocab.tokens[i];
    const TokenType type = vocab.types[i];
    const int32_t id = static_cast<int32_t>(i);
    if (std::isnan(vocab.scores[i])) {
      return CorruptData("vocabulary: token " + std::to_string(i) + " has a NaN score");
    }
    std::string& bytes = t.token_bytes_[i];
    switch (type) {
      case TokenType::kNormal:
      case TokenType::kUserDefined:
      case TokenType::kUnused:
      case TokenType::kUndefined:
        bytes.reserve(piece.size());
        for (size_t p = 0; p < piece.size();) {
          if (piece.compare(p, kSpmSpace.size(), kSpmSpace) == 0) {
            bytes.push_back(' ');
            p += kSpmSpace.size();
          } else {
            bytes.push_back(piece[p++]);
          }
        }
        t.mergeable_pieces_.emplace(piece, id);
        break;
      case TokenType::kByte: {
        const std::optional<uint8_t> b = ByteTokenValue(piece);
        if (!b) {
          return CorruptData("vocabulary: token " + std::to_string(i) +
                             " is a byte token but its piece is not <0xXX>");
        }
        bytes.assign(1, static_cast<char>(*b));
        if (!have_byte[*b]) {
          have_byte[*b] = true;
          t.byte_tokens_[*b] = id;
        }
        break;
      }
      case TokenType::kUnknown:
      case TokenType::kControl:
        break;  // no text
      default:
        return CorruptData("vocabulary: token " + std::to_string(i) + " has type " +
                           std::to_string(static_cast<int32_t>(type)) + " (not 0..6)");
    }
    t.all_pieces_.emplace(piece, id);  // keeps the first id of a duplicated piece
  }
  // An ASCII character is a barrier when no piece longer than one symbol contains it.
  t.barrier_.fill(true);
  for (const auto& [piece, id] : t.mergeable_pieces_) {
    if (Utf8CharLength(piece) == piece.size()) continue;  // a single character
    for (const char c : piece) {
      const auto u = static_cast<uint8_t>(c);
      if (u < t.barrier_.size()) t.barrier_[u] = false;
    }
  }
  t.vocab_ = std::move(vocab);
  return t;
}

int32_t SpmTokenizer::TokenId(std::string_view piece) const {
  const auto it = all_pieces_.find(piece);
  return it == all_pieces_.end() ? -1 : it->second;
}

int32_t SpmTokenizer::MergeablePieceId(std::string_view piece) const {
  const auto it = mergeable_pieces_.find(piece);
  return it == mergeable_pieces_.end() ? -1 : it->second;
}

std::string SpmTokenizer::TokenBytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= token_bytes_.size()) return {};
  return token_bytes_[static_cast<size_t>(id)];
}

std::vector<int32_t> SpmTokenizer::Encode(std::string_view text, bool add_bos, bool add_eos) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_bos) out.push_back(vocab_.bos);
  // Empty text gives no tokens, not even the dummy prefix (SentencePiece, llama.cpp, llama2.c).
  if (!text.empty()) {
    std::string s;
    s.reserve(text.size() + text.size() / 4 + kSpmSpace.size());
    if (vocab_.add_space_prefix) s.append(kSpmSpace);
    for (const char c : text) {
      if (c == ' ') {
        s.append(kSpmSpace);
      } else {
        s.push_back(c);
      }
    }
    // Cut after every barrier character (no piece joins it to a neighbour): the segments
    // tokenize independently, which keeps the working set small on long text.
    Workspace ws;
    size_t begin = 0;
    const auto flush = [&](size_t end) {
      std::string_view seg = std::string_view(s).substr(begin, end - begin);
      while (seg.size() > kMaxChunkBytes) {
        const size_t cut = ChunkEnd(seg);
        EncodeSegment(seg.substr(0, cut), &ws, &out);
        seg.remove_prefix(cut);
      }
      EncodeSegment(seg, &ws, &out);
      begin = end;
    };
    for (size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<uint8_t>(s[i]);
      if (c < barrier_.size() && barrier_[c]) flush(i + 1);
    }
    if (begin < s.size()) flush(s.size());
  }
  if (add_eos) out.push_back(vocab_.eos);
  return out;
}

// Steps 3-5 on one segment of normalized text (spaces already "▁"): no merge can cross the
// segment's ends, and s.size() <= kMaxChunkBytes.
void SpmTokenizer::EncodeSegment(std::string_view s, Workspace* ws,
                                 std::vector<int32_t>* out) const {
  std::vector<Symbol>& symbols = ws->symbols;
  std::vector<Bigram>& heap = ws->heap;
  std::vector<Part>& parts = ws->parts;
  symbols.clear();
  heap.clear();
  parts.clear();
  for (size_t pos = 0; pos < s.size();) {
    size_t n = Utf8CharLength(s.substr(pos));
    if (n == 0) n = 1;  // an ill-formed byte is a symbol of its own
    const int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(pos), static_cast<uint32_t>(n), index - 1, index + 1,
                       MergeablePieceId(s.substr(pos, n)), -1});
    pos += n;
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;

  // Queues the pair (left, right) if together they make a piece.
  const auto try_add = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[static_cast<size_t>(left)];
    const Symbol& r = symbols[static_cast<size_t>(right)];
    const uint32_t size = l.len + r.len;
    const int32_t id = MergeablePieceId(s.substr(l.start, size));
    if (id < 0) return;
    heap.push_back({vocab_.scores[static_cast<size_t>(id)], left, right, size, id});
    std::push_heap(heap.begin(), heap.end(), LowerPriority);
  };
  for (size_t i = 1; i < symbols.size(); ++i) {
    try_add(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  }

  const auto part_of = [&](const Symbol& sym) -> int32_t {
    if (sym.part >= 0) return sym.part;
    parts.push_back({sym.start, sym.len, sym.id, -1, -1});
    return static_cast<int32_t>(parts.size() - 1);
  };
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), LowerPriority);
    const Bigram b = heap.back();
    heap.pop_back();
    Symbol& l = symbols[static_cast<size_t>(b.left)];
    Symbol& r = symbols[static_cast<size_t>(b.right)];
    // Stale: one side was merged away or grew since this pair was queued (symbols only grow,
    // so an unchanged total length means both are as they were).
    if (l.len == 0 || r.len == 0 || l.len + r.len != b.size) continue;
    if (vocab_.types[static_cast<size_t>(b.id)] == TokenType::kUnused) {
      const int32_t lp = part_of(l);
      const int32_t rp = part_of(r);
      parts.push_back({l.start, b.size, b.id, lp, rp});
      l.part = static_cast<int32_t>(parts.size() - 1);
    } else {
      l.part = -1;
    }
    l.len = b.size;
    l.id = b.id;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[static_cast<size_t>(r.next)].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  const auto emit_piece = [&](uint32_t start, uint32_t len, int32_t id) {
    if (id >= 0) {
      out->push_back(id);
      return;
    }
    for (uint32_t i = 0; i < len; ++i)
      out->push_back(byte_tokens_[static_cast<uint8_t>(s[start + i])]);
  };
  std::vector<int32_t>& stack = ws->stack;
  for (int32_t i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
    const Symbol& sym = symbols[static_cast<size_t>(i)];
    if (sym.part < 0) {
      emit_piece(sym.start, sym.len, sym.id);
      continue;
    }
    stack.assign(1, sym.part);
    while (!stack.empty()) {
      const Part& p = parts[static_cast<size_t>(stack.back())];
      stack.pop_back();
      if (p.left < 0) {
        emit_piece(p.start, p.len, p.id);
      } else {
        stack.push_back(p.right);
        stack.push_back(p.left);
      }
    }
  }
}

std::string SpmTokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string out;
  bool strip_space = vocab_.add_space_prefix;  // the first token may carry the dummy prefix
  for (const int32_t id : ids) {
    if (id == vocab_.bos) {
      out.append(TokenBytes(id));
      strip_space = vocab_.add_space_prefix;
      continue;
    }
    if (id < 0 || static_cast<size_t>(id) >= token_bytes_.size()) {
      strip_space = false;
      continue;
    }
    const std::string& bytes = token_bytes_[static_cast<size_t>(id)];
    const bool is_byte = vocab_.types[static_cast<size_t>(id)] == TokenType::kByte;
    if (strip_space && !is_byte && !bytes.empty() && bytes[0] == ' ') {
      out.append(bytes, 1);
    } else {
      out.append(bytes);
    }
    strip_space = false;
  }
  return out;
}

}  // namespace floe
