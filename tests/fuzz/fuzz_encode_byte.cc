// Encode of arbitrary bytes and decode of arbitrary ids with the byte tokenizer (rwkv.cpp's
// tiny models).
#include <cstddef>
#include <cstdint>

#include "runtime/tokenizers/byte_tokenizer.h"
#include "tokenizer_fuzzing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const floe::ByteTokenizer tok;
  floe::fuzz::FuzzTokenizer(tok, data, size);
  return 0;
}
