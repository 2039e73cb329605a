// Encode of arbitrary bytes and decode of arbitrary ids with an RWKV world tokenizer (greedy
// longest match over a byte trie). Its vocabulary: the 256 single bytes plus the distinct words
// of a corpus, with and without a leading space (the shape of the real world vocabulary).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "runtime/tokenizers/rwkv_world_tokenizer.h"
#include "tokenizer_fuzzing.h"

namespace {
const floe::Tokenizer& Vocab() {
  static const std::unique_ptr<floe::RwkvWorldTokenizer> tok = [] {
    std::vector<std::string> tokens = {"<|endoftext|>"};
    for (int b = 0; b < 256; ++b) tokens.push_back(floe::EscapeRwkvToken(std::string(1, char(b))));
    std::vector<uint8_t> text = floe::fuzz::ReadFixture("corpora/tinystories-valid-head.txt");
    std::istringstream in(std::string(text.begin(), text.end()));
    std::set<std::string> seen;
    std::string word;
    while (in >> word && seen.size() < 8000) {
      if (word.size() < 2 || !seen.insert(word).second) continue;
      tokens.push_back(floe::EscapeRwkvToken(word));
      tokens.push_back(floe::EscapeRwkvToken(" " + word));
    }
    auto t = floe::RwkvWorldTokenizer::Create(tokens, -1, 0, -1);
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
