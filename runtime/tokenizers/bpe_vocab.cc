#include "runtime/tokenizers/bpe_vocab.h"

#include <array>

#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/tokenizers/utf8.h"

namespace floe {

namespace {

constexpr const char* kKeyModel = "tokenizer.ggml.model";
constexpr const char* kKeyTokens = "tokenizer.ggml.tokens";
constexpr const char* kKeyTypes = "tokenizer.ggml.token_type";
constexpr const char* kKeyMerges = "tokenizer.ggml.merges";
constexpr const char* kKeyPre = "tokenizer.ggml.pre";
constexpr const char* kKeyAddBos = "tokenizer.ggml.add_bos_token";
constexpr const char* kKeyAddEos = "tokenizer.ggml.add_eos_token";

// Whether GPT-2's mapping keeps a byte as the code point of the same value.
constexpr bool PrintableByte(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
}

struct ByteTables {
  std::array<char32_t, 256> byte_to_char{};
  std::array<int16_t, 0x144> char_to_byte{};  // every mapped character is below U+0144
  std::array<std::string, 256> utf8{};        // UTF-8 of byte_to_char
};

const ByteTables& Tables() {
  static const ByteTables tables = [] {
    ByteTables t;
    t.char_to_byte.fill(-1);
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const char32_t c = PrintableByte(b) ? static_cast<char32_t>(b) : next++;
      t.byte_to_char[static_cast<size_t>(b)] = c;
      t.char_to_byte[c] = static_cast<int16_t>(b);
      AppendUtf8(c, &t.utf8[static_cast<size_t>(b)]);
    }
    return t;
  }();
  return tables;
}

Result<int32_t> OptionalTokenId(const GgufFile& f, const std::string& key, size_t n_tokens) {
  if (f.Find(key) == nullptr) return int32_t{-1};
  FLOE_ASSIGN_OR_RETURN(const uint64_t v, f.GetUint(key));
  if (v >= n_tokens) {
    return CorruptData(key + " = " + std::to_string(v) + " is not a token id (the vocabulary has " +
                       std::to_string(n_tokens) + " tokens)");
  }
  return static_cast<int32_t>(v);
}

}  // namespace

char32_t BpeByteToChar(uint8_t byte) { return Tables().byte_to_char[byte]; }

int BpeCharToByte(char32_t c) {
  return c < Tables().char_to_byte.size() ? Tables().char_to_byte[c] : -1;
}

void AppendBpeMapped(std::string_view raw, std::string* out) {
  const ByteTables& t = Tables();
  for (const char c : raw) out->append(t.utf8[static_cast<uint8_t>(c)]);
}

Result<BpeVocab> BpeVocabFromGguf(const GgufFile& f) {
  FLOE_ASSIGN_OR_RETURN(const std::string model, f.GetString(kKeyModel));
  if (model != "gpt2") {
    return Unsupported(std::string(kKeyModel) + " is '" + model +
                       "': not a byte-level BPE (\"gpt2\") vocabulary");
  }
  BpeVocab v;
  FLOE_ASSIGN_OR_RETURN(v.tokens, f.GetStringArray(kKeyTokens));
  const size_t n = v.tokens.size();
  if (n == 0) return CorruptData(std::string(kKeyTokens) + " is empty");
  if (f.Find(kKeyTypes) != nullptr) {
    FLOE_ASSIGN_OR_RETURN(const std::vector<int32_t> types, f.GetInt32Array(kKeyTypes));
    if (types.size() != n) {
      return CorruptData(std::string(kKeyTypes) + " has " + std::to_string(types.size()) +
                         " entries but " + kKeyTokens + " has " + std::to_string(n));
    }
    v.types.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (types[i] < 0 || types[i] > static_cast<int32_t>(TokenType::kByte)) {
        return CorruptData(std::string(kKeyTypes) + "[" + std::to_string(i) +
                           "] = " + std::to_string(types[i]) + " is not a token type (0..6)");
      }
      v.types.push_back(static_cast<TokenType>(types[i]));
    }
  }
  if (f.Find(kKeyMerges) == nullptr) {
    return CorruptData(std::string(kKeyMerges) +
                       " is missing (a byte-level BPE vocabulary needs its merges)");
  }
  FLOE_ASSIGN_OR_RETURN(v.merges, f.GetStringArray(kKeyMerges));
  if (f.Find(kKeyPre) != nullptr) {
    FLOE_ASSIGN_OR_RETURN(v.pre, f.GetString(kKeyPre));
  }
  struct Special {
    const char* name;
    int32_t* id;
  };
  for (const Special& s :
       {Special{"bos", &v.bos}, Special{"eos", &v.eos}, Special{"eot", &v.eot},
        Special{"eom", &v.eom}, Special{"unknown", &v.unk}, Special{"padding", &v.pad}}) {
    FLOE_ASSIGN_OR_RETURN(
        *s.id, OptionalTokenId(f, std::string("tokenizer.ggml.") + s.name + "_token_id", n));
  }
  if (f.Find(kKeyAddBos) != nullptr) {
    FLOE_ASSIGN_OR_RETURN(v.add_bos, f.GetBool(kKeyAddBos));
    v.has_add_bos = true;
  }
  if (f.Find(kKeyAddEos) != nullptr) {
    FLOE_ASSIGN_OR_RETURN(v.add_eos, f.GetBool(kKeyAddEos));
  }
  return v;
}

}  // namespace floe
