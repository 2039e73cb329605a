// Encode of arbitrary bytes and decode of arbitrary ids with the byte-level BPE (GPT-2) vocabulary from llama.cpp's ggml-vocab-gpt-2.gguf.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "fuzz_common.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/tokenizers/tokenizer_factory.h"
#include "tokenizer_fuzzing.h"

namespace {
const floe::Tokenizer& Vocab() {
  static const std::vector<uint8_t> bytes = floe::fuzz::ReadFixture("tokenizers/ggml-vocab-gpt-2.gguf");
  static const std::unique_ptr<floe::Tokenizer> tok = [] {
    auto f = floe::GgufFile::ParseBytes(bytes.data(), bytes.size());
    if (!f.ok()) __builtin_trap();
    auto t = floe::TokenizerFromGguf(*f);
    if (!t.ok()) __builtin_trap();
    return std::move(t).value();
  }();
  return *tok;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  floe::fuzz::FuzzTokenizer(Vocab(), data, size);
  return 0;
}
