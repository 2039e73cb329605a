// Encode of arbitrary bytes and decode of arbitrary ids with llama2.c's tok512.bin (a small
// SPM vocabulary with byte fallback, as stories260K uses).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "fuzz_common.h"
#include "runtime/tokenizers/spm_tokenizer.h"
#include "runtime/tokenizers/spm_vocab.h"
#include "tokenizer_fuzzing.h"

namespace {
const floe::Tokenizer& Vocab() {
  static const std::optional<floe::SpmTokenizer> tok = [] {
    std::vector<uint8_t> bytes = floe::fuzz::ReadFixture("models/llama2c/tok512.bin");
    auto v = floe::LoadLlama2cTokenizer(bytes.data(), bytes.size(), 512);
    if (!v.ok()) __builtin_trap();
    auto t = floe::SpmTokenizer::Create(std::move(v).value());
    if (!t.ok()) __builtin_trap();
    return std::optional<floe::SpmTokenizer>(std::move(t).value());
  }();
  return *tok;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  floe::fuzz::FuzzTokenizer(Vocab(), data, size);
  return 0;
}
