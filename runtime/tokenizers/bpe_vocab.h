// A byte-level BPE ("GPT-2 style") vocabulary as llama.cpp stores it in GGUF
// (tokenizer.ggml.model = "gpt2"), its loader, and the GPT-2 byte <-> character mapping its
// token texts are written in. The tokenizer that uses it is runtime/tokenizers/bpe_tokenizer.h.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/status.h"
#include "runtime/tokenizers/spm_vocab.h"  // TokenType

namespace floe {

class GgufFile;

// GPT-2's bytes_to_unicode(): the printable bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand
// for themselves (as code points U+0021.. etc.); the other 68 bytes, in increasing order, are
// U+0100, U+0101, ... (so ' ' is U+0120 "Ġ" and '\n' is U+010A "Ċ").
char32_t BpeByteToChar(uint8_t byte);
// The inverse: the byte a character stands for, or -1 for a character outside the mapping.
int BpeCharToByte(char32_t c);
// UTF-8 of BpeByteToChar(byte) for each byte of raw, appended to *out.
void AppendBpeMapped(std::string_view raw, std::string* out);

struct BpeVocab {
  std::vector<std::string> tokens;  // token texts, bytes in the mapped form above
  std::vector<TokenType> types;     // empty: every token normal
  std::vector<std::string> merges;  // "left right" (mapped form); a merge's rank is its index
  std::string pre;                  // tokenizer.ggml.pre ("" when absent)
  // Special token ids (-1: none).
  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, pad = -1;
  // tokenizer.ggml.add_bos_token / add_eos_token when present; otherwise add_bos comes from the
  // pre-tokenizer (true for the llama3 family, as in llama.cpp) and add_eos is false.
  bool has_add_bos = false, add_bos = false;
  bool add_eos = false;
};

// From GGUF metadata: tokenizer.ggml.model (must be "gpt2", else kUnsupported), tokens and
// merges (required), token_type (optional; values 0..6), pre, bos/eos/eot/eom/unknown/padding
// _token_id, add_bos_token, add_eos_token. Array lengths must agree and ids must be token ids
// (kCorruptData naming the key). Everything else is checked by BpeTokenizer::Create.
Result<BpeVocab> BpeVocabFromGguf(const GgufFile& f);

}  // namespace floe
