// Byte-level BPE tokenizer on the real GPT-2 vocabulary: llama.cpp's test-tokenizer-0 vectors,
// round trips over real text, special tokens, token bytes, speed.
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bpe_test_util.h"
#include "runtime/bpe_tokenizer.h"
#include "runtime/utf8.h"

using namespace floe;
using namespace floe::testing;

TEST_CASE("llama.cpp BPE test vectors (ggml-vocab-gpt-2.gguf)", "[unit]") {
  const auto tok = LoadGpt2Tokenizer();
  REQUIRE(tok->kind() == "bpe");
  REQUIRE(tok->vocab_size() == 50257);
  const std::vector<VocabVector> vectors = ReadVocabVectors(Gpt2VocabPath());
  REQUIRE(vectors.size() == 46);
  size_t passed = 0;
  for (const VocabVector& v : vectors) {
    // test-tokenizer-0 tokenizes with add_special = false, parse_special = false.
    const std::vector<int32_t> ids = tok->Encode(v.input, /*add_bos=*/false);
    INFO("input: '" << v.input << "' (" << Hex(v.input) << ")");
    CHECK(ids == v.ids);
    if (ids == v.ids) ++passed;
    CHECK(tok->Decode(ids) == v.input);
  }
  std::printf("llama.cpp gpt-2 BPE vectors: %zu/%zu pass\n", passed, vectors.size());
  CHECK(passed == vectors.size());
}
