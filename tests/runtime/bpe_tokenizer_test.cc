// Byte-level BPE tokenizer on the real GPT-2 vocabulary: llama.cpp's test-tokenizer-0 vectors,
// round trips over real text, special tokens, token bytes, speed.
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "bpe_test_util.h"
#include "runtime/tokenizers/bpe_tokenizer.h"
#include "runtime/tokenizers/utf8.h"

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

TEST_CASE("BPE: edge cases of the GPT-2 vectors, spelled out", "[unit]") {
  const auto tok = LoadGpt2Tokenizer();
  using V = std::vector<int32_t>;
  CHECK(tok->Encode("", false).empty());
  CHECK(tok->Encode("Hello world", false) == V{15496, 995});
  CHECK(tok->Encode(" Hello world", false) == V{18435, 995});
  // \s+(?!\S): of three spaces before a word, two stand alone and one leads the word.
  CHECK(tok->Encode("   Hello", false) == V{220, 220, 18435});
  CHECK(tok->Encode("\n", false) == V{198});
  // 🦙 (F0 9F A6 99) has no token: its bytes merge as far as the merges go.
  CHECK(tok->Encode(" this is \xF0\x9F\xA6\x99.cpp", false) ==
        V{428, 318, 12520, 99, 247, 13, 20322});
  CHECK(tok->Encode("!!!!!!", false) == V{13896, 3228});
}

TEST_CASE("BPE: BOS/EOS, special tokens as plain text, token bytes, end of generation", "[unit]") {
  const auto tok = LoadGpt2Tokenizer();
  using V = std::vector<int32_t>;
  REQUIRE(tok->bos() == 50256);
  REQUIRE(tok->eos() == 50256);
  CHECK_FALSE(tok->add_bos_by_default());  // gpt-2: llama.cpp adds no BOS unless the file says so
  CHECK(tok->Encode("Hello world", true, true) == V{50256, 15496, 995, 50256});
  CHECK(tok->Encode("", true) == V{50256});
  // parse_special = false: the control token's text is ordinary text.
  const V literal = tok->Encode("<|endoftext|>", false);
  CHECK(literal == V{27, 91, 437, 1659, 5239, 91, 29});
  CHECK(tok->Decode(literal) == "<|endoftext|>");
  CHECK(tok->TokenBytes(50256).empty());  // control
  CHECK(tok->TokenBytes(15496) == "Hello");
  CHECK(tok->TokenBytes(18435) == " Hello");  // "ĠHello"
  CHECK(tok->TokenBytes(198) == "\n");        // "Ċ"
  CHECK(tok->TokenBytes(-1).empty());
  CHECK(tok->TokenBytes(50257).empty());
  CHECK(tok->Decode({50256, 15496, -3, 995, 99999, 50256}) == "Hello world");
  CHECK(tok->IsEndOfGeneration(50256));
  CHECK_FALSE(tok->IsEndOfGeneration(15496));
  CHECK_FALSE(tok->IsEndOfGeneration(-1));
  const auto* bpe = dynamic_cast<const BpeTokenizer*>(tok.get());
  REQUIRE(bpe != nullptr);
  CHECK(bpe->eot() == 50256);  // no eot key: found by its text
  CHECK(bpe->pre_tokenizer().kind == BpePreTokenizerKind::kGpt2);
  CHECK(bpe->TokenId("\xC4\xA0Hello") == 18435);
  CHECK(bpe->TokenId("no such token") == -1);
  CHECK(bpe->type(50256) == TokenType::kControl);
}

TEST_CASE("BPE: every single byte has a token, ill-formed UTF-8 round-trips", "[unit]") {
  const auto tok = LoadGpt2Tokenizer();
  for (int b = 0; b < 256; ++b) {
    const std::string s(1, static_cast<char>(b));
    const std::vector<int32_t> ids = tok->Encode(s, false);
    INFO("byte " << b);
    REQUIRE(ids.size() == 1);
    CHECK(tok->TokenBytes(ids[0]) == s);
  }
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 300; ++i) {
    std::string s;
    for (int k = 0; k < 1 + i % 60; ++k) s.push_back(static_cast<char>(byte(rng)));
    INFO("input: " << Hex(s));
    CHECK(tok->Decode(tok->Encode(s, false)) == s);
  }
  // Each byte of an ill-formed sequence splits like U+FFFD (a symbol) but keeps its value.
  CHECK(tok->Decode(tok->Encode("ab\xC0\x80 cd\xED\xA0\x80 \xF4\x90\x80\x80!", false)) ==
        "ab\xC0\x80 cd\xED\xA0\x80 \xF4\x90\x80\x80!");
}

TEST_CASE("BPE: round trip and speed on real text", "[unit]") {
  const auto tok = LoadGpt2Tokenizer();
  for (const VocabVector& v : ReadVocabVectors(Gpt2VocabPath())) {
    CHECK(tok->Decode(tok->Encode(v.input, false)) == v.input);
  }
  size_t total_bytes = 0, total_tokens = 0;
  double total_seconds = 0;
  for (const char* name : {"war-and-peace.txt", "frankenstein.txt", "wikitext2-test.raw"}) {
    const std::string text = ReadFileBytes(DataPath(std::string("corpora/") + name));
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<int32_t> ids = tok->Encode(text, false);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    INFO(name);
    CHECK(tok->Decode(ids) == text);
    CHECK(ids.size() < text.size() / 3);  // English: ~4 bytes per token
    std::printf("BPE encode %s: %.2f MB, %zu tokens, %.1f MB/s\n", name, text.size() / 1e6,
                ids.size(), text.size() / 1e6 / seconds);
    total_bytes += text.size();
    total_tokens += ids.size();
    total_seconds += seconds;
  }
  std::printf("BPE encode total: %.2f MB, %zu tokens, %.1f MB/s\n", total_bytes / 1e6, total_tokens,
              total_bytes / 1e6 / total_seconds);
}
