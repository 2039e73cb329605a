#include "runtime/tokenizers/spm_vocab.h"

#include <limits>
#include <utility>

#include "platform/base/byte_reader.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/formats/gguf/gguf_writer.h"

namespace floe {

namespace {

constexpr const char* kKeyModel = "tokenizer.ggml.model";
constexpr const char* kKeyTokens = "tokenizer.ggml.tokens";
constexpr const char* kKeyScores = "tokenizer.ggml.scores";
constexpr const char* kKeyTypes = "tokenizer.ggml.token_type";
constexpr const char* kKeyBos = "tokenizer.ggml.bos_token_id";
constexpr const char* kKeyEos = "tokenizer.ggml.eos_token_id";
constexpr const char* kKeyEot = "tokenizer.ggml.eot_token_id";
constexpr const char* kKeyUnk = "tokenizer.ggml.unknown_token_id";
constexpr const char* kKeyAddBos = "tokenizer.ggml.add_bos_token";
constexpr const char* kKeyAddEos = "tokenizer.ggml.add_eos_token";
constexpr const char* kKeyAddSpacePrefix = "tokenizer.ggml.add_space_prefix";

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The type llama2.c's run.c implies for a piece: it stores none.
TokenType InferredType(size_t id, std::string_view piece) {
  if (id == 0) return TokenType::kUnknown;
  if (id == 1 || id == 2) return TokenType::kControl;
  if (ByteTokenValue(piece)) return TokenType::kByte;
  return TokenType::kNormal;
}

// llama2.c piece -> SentencePiece piece.
std::string SpmPieceFromLlama2c(size_t id, std::string_view raw) {
  if (id == 1 && raw == "\n<s>\n") return "<s>";
  if (id == 2 && raw == "\n</s>\n") return "</s>";
  std::string piece;
  piece.reserve(raw.size() + 8);
  for (char c : raw) {
    if (c == ' ') {
      piece.append(kSpmSpace);
    } else {
      piece.push_back(c);
    }
  }
  return piece;
}

Result<int32_t> OptionalTokenId(const GgufFile& f, const char* key, int32_t fallback) {
  if (f.Find(key) == nullptr) return fallback;
  FLOE_ASSIGN_OR_RETURN(const uint64_t v, f.GetUint(key));
  if (v > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
    return CorruptData(std::string(key) + " = " + std::to_string(v) + " is not a valid token id");
  }
  return static_cast<int32_t>(v);
}

Result<bool> OptionalBool(const GgufFile& f, const char* key, bool fallback) {
  if (f.Find(key) == nullptr) return fallback;
  return f.GetBool(key);
}

}  // namespace

std::optional<uint8_t> ByteTokenValue(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return std::nullopt;
  const int hi = HexDigit(piece[3]);
  const int lo = HexDigit(piece[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<uint8_t>(hi * 16 + lo);
}

Result<SpmVocab> LoadLlama2cTokenizer(const uint8_t* data, size_t size,
                                      size_t expected_vocab_size) {
  if (data == nullptr && size != 0) return InvalidArgument("tokenizer.bin: null data");
  ByteReader r(data, size);
  int32_t max_len = 0;
  FLOE_RETURN_IF_ERROR(r.Read(&max_len, "tokenizer.bin header (max_token_length)"));
  if (max_len <= 0) {
    return CorruptData("tokenizer.bin: max_token_length is " + std::to_string(max_len) +
                       " (must be positive)");
  }
  SpmVocab v;
  while (r.remaining() > 0) {
    const size_t id = v.tokens.size();
    // Stop at the model's count: a file of tiny records must not be read to the end first.
    if (expected_vocab_size > 0 && id == expected_vocab_size) {
      return CorruptData("tokenizer.bin holds more than the model's " +
                         std::to_string(expected_vocab_size) + " tokens (" +
                         std::to_string(r.remaining()) + " bytes follow token " +
                         std::to_string(id - 1) + ")");
    }
    const std::string where = "tokenizer.bin token " + std::to_string(id);
    float score = 0;
    int32_t len = 0;
    Status st = r.Read(&score, "token score");
    if (st.ok()) st = r.Read(&len, "token length");
    if (!st.ok()) return std::move(st).WithContext(where);
    if (len < 0 || len > max_len) {
      return CorruptData(where + " at byte " + std::to_string(r.offset() - 4) + ": length " +
                         std::to_string(len) + " is outside 0.." + std::to_string(max_len) +
                         " (max_token_length)");
    }
    const uint8_t* bytes = nullptr;
    st = r.ReadBytes(static_cast<size_t>(len), &bytes, "token bytes");
    if (!st.ok()) return std::move(st).WithContext(where);
    const std::string_view raw(reinterpret_cast<const char*>(bytes), static_cast<size_t>(len));
    v.tokens.push_back(SpmPieceFromLlama2c(id, raw));
    v.scores.push_back(score);
    v.types.push_back(InferredType(id, raw));
  }
  if (v.tokens.empty()) return CorruptData("tokenizer.bin holds no tokens");
  if (expected_vocab_size > 0 && v.tokens.size() != expected_vocab_size) {
    return CorruptData("tokenizer.bin holds " + std::to_string(v.tokens.size()) +
                       " tokens but the model's vocabulary is " +
                       std::to_string(expected_vocab_size));
  }
  return v;
}

Result<SpmVocab> SpmVocabFromGguf(const GgufFile& f) {
  FLOE_ASSIGN_OR_RETURN(const std::string model, f.GetString(kKeyModel));
  if (model != "llama") {
    return Unsupported(std::string(kKeyModel) + " is '" + model +
                       "': only SentencePiece vocabularies (\"llama\") are supported");
  }
  SpmVocab v;
  FLOE_ASSIGN_OR_RETURN(v.tokens, f.GetStringArray(kKeyTokens));
  const size_t n = v.tokens.size();
  if (n == 0) return CorruptData(std::string(kKeyTokens) + " is empty");
  if (f.Find(kKeyScores) != nullptr) {
    FLOE_ASSIGN_OR_RETURN(v.scores, f.GetFloatArray(kKeyScores));
    if (v.scores.size() != n) {
      return CorruptData(std::string(kKeyScores) + " has " + std::to_string(v.scores.size()) +
                         " entries but " + kKeyTokens + " has " + std::to_string(n));
    }
  } else {
    v.scores.assign(n, 0.0f);
  }
  v.types.reserve(n);
  if (f.Find(kKeyTypes) != nullptr) {
    FLOE_ASSIGN_OR_RETURN(const std::vector<int32_t> types, f.GetInt32Array(kKeyTypes));
    if (types.size() != n) {
      return CorruptData(std::string(kKeyTypes) + " has " + std::to_string(types.size()) +
                         " entries but " + kKeyTokens + " has " + std::to_string(n));
    }
    for (size_t i = 0; i < n; ++i) {
      if (types[i] < 0 || types[i] > static_cast<int32_t>(TokenType::kByte)) {
        return CorruptData(std::string(kKeyTypes) + "[" + std::to_string(i) +
                           "] = " + std::to_string(types[i]) + " is not a token type (0..6)");
      }
      v.types.push_back(static_cast<TokenType>(types[i]));
    }
  } else {
    for (size_t i = 0; i < n; ++i) v.types.push_back(InferredType(i, v.tokens[i]));
  }
  FLOE_ASSIGN_OR_RETURN(v.bos, OptionalTokenId(f, kKeyBos, v.bos));
  FLOE_ASSIGN_OR_RETURN(v.eos, OptionalTokenId(f, kKeyEos, v.eos));
  FLOE_ASSIGN_OR_RETURN(v.eot, OptionalTokenId(f, kKeyEot, v.eot));
  FLOE_ASSIGN_OR_RETURN(v.unk, OptionalTokenId(f, kKeyUnk, v.unk));
  FLOE_ASSIGN_OR_RETURN(v.add_bos, OptionalBool(f, kKeyAddBos, v.add_bos));
  FLOE_ASSIGN_OR_RETURN(v.add_eos, OptionalBool(f, kKeyAddEos, v.add_eos));
  FLOE_ASSIGN_OR_RETURN(v.add_space_prefix,
                        OptionalBool(f, kKeyAddSpacePrefix, v.add_space_prefix));
  return v;
}

void WriteSpmVocabToGguf(const SpmVocab& v, GgufWriter* w) {
  std::vector<int32_t> types;
  types.reserve(v.types.size());
  for (TokenType t : v.types) types.push_back(static_cast<int32_t>(t));
  w->SetString(kKeyModel, "llama");
  w->SetStringArray(kKeyTokens, v.tokens);
  w->SetFloat32Array(kKeyScores, v.scores);
  w->SetInt32Array(kKeyTypes, types);
  w->SetUint32(kKeyBos, static_cast<uint32_t>(v.bos));
  w->SetUint32(kKeyEos, static_cast<uint32_t>(v.eos));
  if (v.eot >= 0) w->SetUint32(kKeyEot, static_cast<uint32_t>(v.eot));
  w->SetUint32(kKeyUnk, static_cast<uint32_t>(v.unk));
  w->SetBool(kKeyAddBos, v.add_bos);
  w->SetBool(kKeyAddEos, v.add_eos);
  w->SetBool(kKeyAddSpacePrefix, v.add_space_prefix);
}

}  // namespace floe
