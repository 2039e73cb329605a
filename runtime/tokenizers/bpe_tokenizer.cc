// BpeTokenizer: creation (vocabulary checks, lookup tables), token bytes and decoding.
// Encoding is in bpe_encode.cc.
#include "runtime/tokenizers/bpe_tokenizer.h"

#include <algorithm>
#include <limits>

#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/tokenizers/utf8.h"

namespace floe {

namespace {

constexpr uint64_t kEmptySlot = ~uint64_t{0};

uint64_t MergeKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// Tokens llama.cpp treats as control and end-of-generation by their text.
constexpr std::string_view kEndOfTurnTexts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>"};
// Also an EOT candidate when tokenizer.ggml.eot_token_id is absent (DeepSeek).
constexpr std::string_view kDeepSeekEndOfSentence =
    "<\xEF\xBD\x9C"
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";  // <｜end▁of▁sentence｜>

bool IsEndOfTurnText(std::string_view s) {
  return std::find(std::begin(kEndOfTurnTexts), std::end(kEndOfTurnTexts), s) !=
         std::end(kEndOfTurnTexts);
}

// A normal token's text mapped back to bytes; characters outside the byte mapping (and bytes
// of ill-formed UTF-8) are kept as they are.
std::string UnmapTokenText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t n = Utf8CharLength(text.substr(pos));
    if (n == 0) {
      out.push_back(text[pos++]);
      continue;
    }
    char32_t c = static_cast<uint8_t>(text[pos]);
    if (n > 1) {
      c &= 0x7Fu >> n;
      for (size_t i = 1; i < n; ++i) c = (c << 6) | (static_cast<uint8_t>(text[pos + i]) & 0x3F);
    }
    const int b = BpeCharToByte(c);
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      out.append(text.substr(pos, n));
    }
    pos += n;
  }
  return out;
}

}  // namespace

Result<BpeTokenizer> BpeTokenizer::Create(BpeVocab vocab) {
  const size_t n = vocab.tokens.size();
  if (n == 0) return InvalidArgument("BPE vocabulary is empty");
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return InvalidArgument("BPE vocabulary has " + std::to_string(n) + " tokens (too many)");
  }
  if (!vocab.types.empty() && vocab.types.size() != n) {
    return CorruptData("BPE vocabulary has " + std::to_string(n) + " tokens but " +
                       std::to_string(vocab.types.size()) + " token types");
  }
  for (size_t i = 0; i < n; ++i)
    if (vocab.tokens[i].size() > kMaxTokenBytes)
      return CorruptData("BPE vocabulary: token " + std::to_string(i) + " is " +
                         std::to_string(vocab.tokens[i].size()) + " bytes long (at most " +
                         std::to_string(kMaxTokenBytes) + ")");
  struct Special {
    const char* name;
    int32_t id;
  };
  for (const Special& s :
       {Special{"BOS", vocab.bos}, Special{"EOS", vocab.eos}, Special{"EOT", vocab.eot},
        Special{"EOM", vocab.eom}, Special{"unknown", vocab.unk}, Special{"padding", vocab.pad}}) {
    if (s.id < -1 || s.id >= static_cast<int64_t>(n)) {
      return CorruptData(std::string("BPE vocabulary: ") + s.name + " id " + std::to_string(s.id) +
                         " is not a token id (0.." + std::to_string(n - 1) + ")");
    }
  }
  BpeTokenizer t;
  FLOE_ASSIGN_OR_RETURN(t.pre_, BpePreTokenizerFromName(vocab.pre));
  t.add_bos_ = vocab.has_add_bos ? vocab.add_bos : t.pre_.add_bos;
  t.types_ = vocab.types.empty() ? std::vector<TokenType>(n, TokenType::kNormal) : vocab.types;
  t.text_to_id_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& text = vocab.tokens[i];
    if (text.empty()) continue;  // no text: never produced by Encode
    const auto [it, inserted] = t.text_to_id_.emplace(text, static_cast<int32_t>(i));
    if (!inserted) {
      return CorruptData("BPE vocabulary: token " + std::to_string(i) +
                         " has the same text as token " + std::to_string(it->second) + " ('" +
                         text.substr(0, 64) + "')");
    }
  }

  // End-of-turn markers: control type, end of generation; the EOT id when none is given.
  t.end_of_generation_.assign(n, false);
  t.eot_ = vocab.eot;
  for (size_t i = 0; i < n; ++i) {
    const std::string& text = vocab.tokens[i];
    const bool marker = IsEndOfTurnText(text);
    if (t.eot_ < 0 && (marker || text == kDeepSeekEndOfSentence)) t.eot_ = static_cast<int32_t>(i);
    if (marker || (vocab.eot < 0 && static_cast<int32_t>(i) == t.eot_)) {
      t.types_[i] = TokenType::kControl;
    }
    if (marker) t.end_of_generation_[i] = true;
  }
  for (const int32_t id : {vocab.eos, t.eot_, vocab.eom}) {
    if (id >= 0) t.end_of_generation_[static_cast<size_t>(id)] = true;
  }

  // Each byte's token, and llama.cpp's fallback when its mapped character is no token.
  t.byte_token_.assign(256, -1);
  t.byte_fallback_.assign(256, {});
  for (int b = 0; b < 256; ++b) {
    const char byte = static_cast<char>(b);
    std::string mapped;
    AppendBpeMapped(std::string_view(&byte, 1), &mapped);
    t.byte_token_[static_cast<size_t>(b)] = t.TokenId(mapped);
    for (const char c : mapped) {
      const int32_t id = t.TokenId(std::string_view(&c, 1));
      if (id >= 0) t.byte_fallback_[static_cast<size_t>(b)].push_back(id);
    }
  }

  t.token_bytes_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (t.types_[i] == TokenType::kNormal) {
      t.token_bytes_[i] = UnmapTokenText(vocab.tokens[i]);
    } else if (t.types_[i] == TokenType::kUserDefined) {
      t.token_bytes_[i] = vocab.tokens[i];
      if (!vocab.tokens[i].empty())
        t.user_defined_.emplace_back(vocab.tokens[i], static_cast<int32_t>(i));
    }
  }
  std::stable_sort(t.user_defined_.begin(), t.user_defined_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  t.vocab_ = std::move(vocab);
  FLOE_RETURN_IF_ERROR(t.BuildMerges());
  return t;
}

Status BpeTokenizer::BuildMerges() {
  const std::vector<std::string>& merges = vocab_.merges;
  if (merges.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return CorruptData("BPE vocabulary has " + std::to_string(merges.size()) +
                       " merges (too many)");
  }
  size_t slots = 16;
  while (slots < merges.size() * 2) slots *= 2;
  merge_slots_.assign(slots, MergeSlot{kEmptySlot, -1, -1});
  merge_shift_ = 64;
  for (size_t s = slots; s > 1; s /= 2) --merge_shift_;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const std::string_view m = merges[rank];
    const auto error = [&](const std::string& why) {
      return CorruptData("BPE merge " + std::to_string(rank) + " ('" +
                         std::string(m.substr(0, 64)) + "') " + why);
    };
    const size_t space = m.size() > 1 ? m.find(' ', 1) : std::string_view::npos;
    if (space == std::string_view::npos) return error("is not two tokens separated by a space");
    const std::string_view left = m.substr(0, space), right = m.substr(space + 1);
    const int32_t l = TokenId(left), r = TokenId(right);
    if (l < 0)
      return error("refers to '" + std::string(left.substr(0, 64)) + "', which is not a token");
    if (r < 0)
      return error("refers to '" + std::string(right.substr(0, 64)) + "', which is not a token");
    const int32_t result = TokenId(std::string(left) + std::string(right));
    if (result < 0) return error("makes a text that is not a token");
    const uint64_t key = MergeKey(l, r);
    size_t i = (key * 0x9E3779B97F4A7C15ull) >> merge_shift_;
    while (merge_slots_[i].key != kEmptySlot && merge_slots_[i].key != key)
      i = (i + 1) & (slots - 1);
    if (merge_slots_[i].key == key) continue;  // a repeated merge keeps its first (lowest) rank
    merge_slots_[i] = MergeSlot{key, static_cast<int32_t>(rank), result};
  }
  return Status::Ok();
}

std::pair<int32_t, int32_t> BpeTokenizer::FindMerge(int32_t left, int32_t right) const {
  const uint64_t key = MergeKey(left, right);
  const size_t mask = merge_slots_.size() - 1;
  for (size_t i = (key * 0x9E3779B97F4A7C15ull) >> merge_shift_;; i = (i + 1) & mask) {
    const MergeSlot& s = merge_slots_[i];
    if (s.key == key) return {s.rank, s.result};
    if (s.key == kEmptySlot) return {-1, -1};
  }
}

int32_t BpeTokenizer::TokenId(std::string_view text) const {
  const auto it = text_to_id_.find(text);
  return it == text_to_id_.end() ? -1 : it->second;
}

TokenType BpeTokenizer::type(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= types_.size()) return TokenType::kUndefined;
  return types_[static_cast<size_t>(id)];
}

bool BpeTokenizer::IsEndOfGeneration(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < end_of_generation_.size() &&
         end_of_generation_[static_cast<size_t>(id)];
}

std::string BpeTokenizer::TokenBytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= token_bytes_.size()) return {};
  return token_bytes_[static_cast<size_t>(id)];
}

std::string BpeTokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (const int32_t id : ids) {
    if (id >= 0 && static_cast<size_t>(id) < token_bytes_.size())
      out.append(token_bytes_[static_cast<size_t>(id)]);
  }
  return out;
}

Result<std::unique_ptr<Tokenizer>> BpeTokenizerFromGguf(const GgufFile& gguf) {
  FLOE_ASSIGN_OR_RETURN(BpeVocab vocab, BpeVocabFromGguf(gguf));
  FLOE_ASSIGN_OR_RETURN(BpeTokenizer tok, BpeTokenizer::Create(std::move(vocab)));
  return std::unique_ptr<Tokenizer>(new BpeTokenizer(std::move(tok)));
}

}  // namespace floe
