// A SentencePiece (Llama "SPM") vocabulary and its loaders: llama2.c's tokenizer.bin and GGUF
// metadata (llama.cpp's tokenizer.ggml.* keys), plus the GGUF writer used by `floe convert`.
// The tokenizer that uses it is runtime/tokenizers/spm_tokenizer.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/status.h"

namespace floe {

class GgufFile;
class GgufWriter;

// SentencePiece piece types, numbered as llama.cpp's llama_token_type / GGUF
// tokenizer.ggml.token_type (SentencePiece's own enum shifted by one, 0 = undefined).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// U+2581 LOWER ONE EIGHTH BLOCK: SentencePiece's stand-in for ' ' inside pieces.
inline constexpr std::string_view kSpmSpace = "\xE2\x96\x81";

struct SpmVocab {
  std::vector<std::string> tokens;  // SentencePiece pieces, whitespace as U+2581 "▁"
  std::vector<float> scores;
  std::vector<TokenType> types;
  int32_t bos = 1, eos = 2, unk = 0;
  int32_t eot = -1;  // end-of-turn (tokenizer.ggml.eot_token_id), -1 when absent
  bool add_bos = true, add_eos = false, add_space_prefix = true;
};

// The byte a byte-fallback piece stands for: "<0xAB>" -> 0xAB (hex digits of either case).
// nullopt for anything else.
std::optional<uint8_t> ByteTokenValue(std::string_view piece);

// llama2.c tokenizer.bin: int32 max_token_length, then entries {float32 score, int32 len,
// len bytes} until the end of the data (the count is not stored; expected_vocab_size > 0
// checks it). Every length must be 0..max_token_length and fit in the data.
// llama2.c's exporter writes pieces with ' ' for "▁" and the BOS/EOS pieces as "\n<s>\n" /
// "\n</s>\n": they are turned back into SentencePiece form ("▁", "<s>", "</s>"), so a vocab
// loaded from here equals the same vocabulary loaded from GGUF.
// Types are not stored either: id 0 is unknown, ids 1-2 control, "<0xXX>" byte, the rest normal.
// Errors: kCorruptData (truncated, negative or oversized lengths, no tokens, wrong count).
Result<SpmVocab> LoadLlama2cTokenizer(const uint8_t* data, size_t size,
                                      size_t expected_vocab_size = 0);

// From GGUF metadata tokenizer.ggml.*: model (must be "llama", else kUnsupported), tokens
// (required), scores (default 0), token_type (default: inferred as for tokenizer.bin),
// bos_token_id / eos_token_id / unknown_token_id (default 1 / 2 / 0), eot_token_id (none),
// add_bos_token (true), add_eos_token (false), add_space_prefix (true). Array lengths must agree
// (kCorruptData).
Result<SpmVocab> SpmVocabFromGguf(const GgufFile& f);

// Writes the vocabulary as the tokenizer.ggml.* keys above, model "llama".
void WriteSpmVocabToGguf(const SpmVocab& v, GgufWriter* w);

}  // namespace floe
