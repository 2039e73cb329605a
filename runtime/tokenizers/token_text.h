// Turns a stream of generated token ids into UTF-8-safe text: byte pieces are reassembled,
// a character split across tokens is emitted only once complete, and the SentencePiece dummy
// prefix space of the first token after BOS is dropped when the tokenizer adds one (SPM; as
// llama2.c and llama.cpp print it).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/tokenizers/tokenizer.h"
#include "runtime/tokenizers/utf8.h"

namespace floe {

class TokenTextStream {
 public:
  explicit TokenTextStream(const Tokenizer* tokenizer) : tok_(tokenizer) {}
  void SetPrevious(int32_t id) { prev_ = id; }
  // Text that became complete with token `id` (possibly empty). No tokenizer: always empty.
  std::string Next(int32_t id);
  std::string Flush() { return utf8_.Flush(); }

 private:
  const Tokenizer* tok_;
  Utf8StreamDecoder utf8_;
  int32_t prev_ = -1;
};

}  // namespace floe
