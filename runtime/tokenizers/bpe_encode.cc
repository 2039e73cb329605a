// BpeTokenizer::Encode: user-defined token cut-out, pre-tokenization, per-word BPE merges.
#include <algorithm>
#include <unordered_map>

#include "runtime/tokenizers/bpe_tokenizer.h"
#include "runtime/tokenizers/unicode/unicode_flags.h"
#include "runtime/tokenizers/utf8.h"

namespace floe {

namespace {

// Pre-tokenizer positions are 32-bit: text longer than this is encoded in pieces cut at a
// character boundary (so a word never spans a cut). Far beyond any real prompt.
constexpr size_t kMaxChunkBytes = size_t{1} << 30;
// Encode remembers the tokens of words up to this long (natural text repeats words a lot).
constexpr size_t kMaxCachedWordBytes = 48;
constexpr size_t kMaxCachedWords = size_t{1} << 18;

// Where to cut s (longer than kMaxChunkBytes): at most that far, at a character start.
size_t ChunkEnd(std::string_view s) {
  size_t end = kMaxChunkBytes;
  for (int i = 0; i < 3 && (static_cast<uint8_t>(s[end]) & 0xC0) == 0x80; ++i) --end;
  return end;
}

// A run of a word's bytes that is (so far) one token. Symbols form a doubly linked list; a
// symbol merged into its left neighbour gets len 0.
struct Symbol {
  int32_t id;  // its token, or -1 (a byte whose mapped character is no token; never merges)
  int32_t prev, next;
  uint32_t start, len;
};

// A possible merge of two adjacent symbols, as it was when queued.
struct Candidate {
  int32_t rank;
  int32_t left, right;        // symbol indices
  int32_t left_id, right_id;  // their tokens then: a symbol's token changes when it grows
  int32_t result;
};

// Heap order: lowest rank first; on equal ranks the leftmost pair.
bool LowerPriority(const Candidate& a, const Candidate& b) {
  return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
}

// Decodes one code point at s[pos] (pos < s.size()): its value and length in bytes; each
// byte of an ill-formed sequence is one U+FFFD.
char32_t DecodeAt(std::string_view s, size_t pos, size_t* length) {
  const auto lead = static_cast<uint8_t>(s[pos]);
  if (lead < 0x80) {
    *length = 1;
    return lead;
  }
  const size_t n = Utf8CharLength(s.substr(pos));
  if (n == 0) {
    *length = 1;
    return 0xFFFD;
  }
  char32_t c = lead & (0x7Fu >> n);
  for (size_t i = 1; i < n; ++i) c = (c << 6) | (static_cast<uint8_t>(s[pos + i]) & 0x3F);
  *length = n;
  return c;
}

}  // namespace

struct BpeTokenizer::Workspace {
  std::vector<char32_t> cps;
  std::vector<uint16_t> flags;
  std::vector<uint32_t> offsets;  // byte offset of each code point, then the fragment's size
  std::vector<uint32_t> words, scratch;
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  std::string mapped;
  // Word bytes (pointing into the text being encoded) -> [first, first + count) of cached_ids.
  std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;
  std::vector<int32_t> cached_ids;
};

std::vector<int32_t> BpeTokenizer::Encode(std::string_view text, bool add_bos, bool add_eos) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 4 + 4);
  if (add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
  Workspace ws;
  const auto encode_text = [&](std::string_view s) {
    while (s.size() > kMaxChunkBytes) {
      const size_t cut = ChunkEnd(s);
      EncodeFragment(s.substr(0, cut), &ws, &out);
      s.remove_prefix(cut);
    }
    if (!s.empty()) EncodeFragment(s, &ws, &out);
  };
  if (user_defined_.empty()) {
    encode_text(text);
  } else {
    // Cut out user-defined tokens, longest first, each from the stretches of text left over.
    struct Fragment {
      size_t start, size;
      int32_t token;  // -1: text
    };
    std::vector<Fragment> fragments{{0, text.size(), -1}}, next;
    for (const auto& [token_text, id] : user_defined_) {
      next.clear();
      for (const Fragment& f : fragments) {
        if (f.token >= 0) {
          next.push_back(f);
          continue;
        }
        const std::string_view stretch = text.substr(0, f.start + f.size);
        size_t pos = f.start;
        for (size_t m; (m = stretch.find(token_text, pos)) != std::string_view::npos;) {
          if (m > pos) next.push_back({pos, m - pos, -1});
          next.push_back({m, token_text.size(), id});
          pos = m + token_text.size();
        }
        if (stretch.size() > pos) next.push_back({pos, stretch.size() - pos, -1});
      }
      fragments.swap(next);
    }
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
      } else {
        encode_text(text.substr(f.start, f.size));
      }
    }
  }
  if (add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
  return out;
}

// Pre-tokenizes one stretch of text (no user-defined tokens in it, size <= kMaxChunkBytes)
// and encodes each word.
void BpeTokenizer::EncodeFragment(std::string_view text, Workspace* ws,
                                  std::vector<int32_t>* out) const {
  ws->cps.clear();
  ws->flags.clear();
  ws->offsets.clear();
  for (size_t pos = 0; pos < text.size();) {
    size_t n = 0;
    const char32_t c = DecodeAt(text, pos, &n);
    ws->offsets.push_back(static_cast<uint32_t>(pos));
    ws->cps.push_back(c);
    ws->flags.push_back(UnicodeFlags(c));
    pos += n;
  }
  ws->offsets.push_back(static_cast<uint32_t>(text.size()));
  ws->words.clear();
  PreTokenize(pre_.kind, ws->cps.data(), ws->flags.data(), ws->cps.size(), &ws->words,
              &ws->scratch);
  size_t cp = 0;
  for (const uint32_t len : ws->words) {
    const uint32_t begin = ws->offsets[cp], end = ws->offsets[cp + len];
    EncodeWord(text.substr(begin, end - begin), ws, out);
    cp += len;
  }
}

void BpeTokenizer::EmitByte(uint8_t byte, std::vector<int32_t>* out) const {
  const int32_t id = byte_token_[byte];
  if (id >= 0) {
    out->push_back(id);
  } else {
    const std::vector<int32_t>& fallback = byte_fallback_[byte];
    out->insert(out->end(), fallback.begin(), fallback.end());
  }
}

// The tokens of one word (word.size() >= 1, < 2^31).
void BpeTokenizer::EncodeWord(std::string_view word, Workspace* ws,
                              std::vector<int32_t>* out) const {
  if (word.size() == 1) {
    EmitByte(static_cast<uint8_t>(word[0]), out);
    return;
  }
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    const auto it = ws->cache.find(word);
    if (it != ws->cache.end()) {
      const auto first = ws->cached_ids.begin() + it->second.first;
      out->insert(out->end(), first, first + it->second.second);
      return;
    }
  }
  const size_t first_out = out->size();
  int32_t whole = -1;
  if (pre_.ignore_merges) {
    ws->mapped.clear();
    AppendBpeMapped(word, &ws->mapped);
    whole = TokenId(ws->mapped);
  }
  if (whole >= 0) {
    out->push_back(whole);
  } else {
    std::vector<Symbol>& symbols = ws->symbols;
    std::vector<Candidate>& heap = ws->heap;
    symbols.clear();
    heap.clear();
    const auto n = static_cast<int32_t>(word.size());
    for (int32_t i = 0; i < n; ++i) {
      symbols.push_back({byte_token_[static_cast<uint8_t>(word[static_cast<size_t>(i)])], i - 1,
                         i + 1 < n ? i + 1 : -1, static_cast<uint32_t>(i), 1});
    }
    const auto try_add = [&](int32_t left, int32_t right) {
      if (left < 0 || right < 0) return;
      const int32_t l = symbols[static_cast<size_t>(left)].id,
                    r = symbols[static_cast<size_t>(right)].id;
      if (l < 0 || r < 0) return;
      const auto [rank, result] = FindMerge(l, r);
      if (rank < 0) return;
      heap.push_back({rank, left, right, l, r, result});
      std::push_heap(heap.begin(), heap.end(), LowerPriority);
    };
    for (int32_t i = 1; i < n; ++i) try_add(i - 1, i);
    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), LowerPriority);
      const Candidate c = heap.back();
      heap.pop_back();
      Symbol& l = symbols[static_cast<size_t>(c.left)];
      Symbol& r = symbols[static_cast<size_t>(c.right)];
      // Stale: a side was merged away or grew since this pair was queued.
      if (l.len == 0 || r.len == 0 || l.id != c.left_id || r.id != c.right_id) continue;
      l.id = c.result;
      l.len += r.len;
      r.len = 0;
      l.next = r.next;
      if (r.next >= 0) symbols[static_cast<size_t>(r.next)].prev = c.left;
      try_add(l.prev, c.left);
      try_add(c.left, l.next);
    }
    for (int32_t i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) {
      const Symbol& s = symbols[static_cast<size_t>(i)];
      if (s.id >= 0) {
        out->push_back(s.id);
      } else {
        EmitByte(static_cast<uint8_t>(word[s.start]), out);  // never merged: one byte
      }
    }
  }
  if (cacheable && ws->cache.size() < kMaxCachedWords) {
    const auto first = static_cast<uint32_t>(ws->cached_ids.size());
    ws->cached_ids.insert(ws->cached_ids.end(), out->begin() + static_cast<ptrdiff_t>(first_out),
                          out->end());
    ws->cache.emplace(word, std::make_pair(first, static_cast<uint32_t>(out->size() - first_out)));
  }
}

}  // namespace floe
