// SentencePiece tokenizer: the peers' test vectors (llama.cpp test-tokenizer-0, llama2.c
// test.c) on the real Llama 2 vocabulary, loader agreement (tokenizer.bin vs GGUF), round
// trips, UTF-8 streaming, and hostile tokenizer.bin files.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/formats/gguf/gguf_writer.h"
#include "runtime/tokenizers/spm_tokenizer.h"
#include "runtime/tokenizers/spm_vocab.h"
#include "runtime/tokenizers/utf8.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  const std::string s = ReadFile(path);
  return std::vector<uint8_t>(s.begin(), s.end());
}

struct VocabVector {
  std::string input;
  std::vector<int32_t> ids;
};

// llama.cpp tests/test-tokenizer-0.cpp layout: inputs separated by "\n__ggml_vocab_test__\n"
// (the file ends with one, which closes the last input: no empty input after it); one
// output line of space-separated ids per input.
std::vector<VocabVector> ReadVocabVectors(const std::string& vocab_path) {
  const std::string inp = ReadFile(vocab_path + ".inp");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      inputs.push_back(inp.substr(pos));
      break;
    }
    inputs.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::ifstream out(vocab_path + ".out");
  REQUIRE(out.good());
  std::vector<VocabVector> vectors;
  size_t i = 0;
  for (std::string line; std::getline(out, line); ++i) {
    REQUIRE(i < inputs.size());
    VocabVector v{inputs[i], {}};
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) v.ids.push_back(id);
    vectors.push_back(std::move(v));
  }
  REQUIRE(vectors.size() == inputs.size());
  return vectors;
}

std::string LlamaGgufPath() { return DataPath("tokenizers/ggml-vocab-llama-spm.gguf"); }

SpmVocab LoadGgufVocab() {
  auto f = GgufFile::Open(LlamaGgufPath());
  REQUIRE(f.ok());
  auto v = SpmVocabFromGguf(*f);
  INFO(v.status().ToString());
  REQUIRE(v.ok());
  return std::move(v).value();
}

SpmVocab LoadBinVocab(const std::string& relative, size_t expected) {
  const std::vector<uint8_t> bytes = ReadBytes(DataPath(relative));
  auto v = LoadLlama2cTokenizer(bytes.data(), bytes.size(), expected);
  INFO(v.status().ToString());
  REQUIRE(v.ok());
  return std::move(v).value();
}

SpmTokenizer MakeTokenizer(SpmVocab vocab) {
  auto t = SpmTokenizer::Create(std::move(vocab));
  INFO(t.status().ToString());
  REQUIRE(t.ok());
  return std::move(t).value();
}

std::string Hex(std::string_view s) {
  std::string out;
  char buf[4];
  for (const char c : s) {
    std::snprintf(buf, sizeof(buf), "%02X ", static_cast<unsigned>(static_cast<uint8_t>(c)));
    out += buf;
  }
  return out;
}

// Random well-formed UTF-8 from every encoding length, with spaces, tabs and newlines; never
// U+2581, which SentencePiece cannot tell from a space.
std::string RandomUtf8(std::mt19937& rng, size_t chars) {
  std::string s;
  std::uniform_int_distribution<int> kind(0, 9);
  for (size_t i = 0; i < chars; ++i) {
    char32_t cp = 0;
    switch (kind(rng)) {
      case 0:
        cp = U' ';
        break;
      case 1:
        cp = std::uniform_int_distribution<int>(0, 2)(rng) == 0 ? U'\n' : U'\t';
        break;
      case 2:
      case 3:
      case 4:
        cp = std::uniform_int_distribution<char32_t>(0x21, 0x7E)(rng);
        break;
      case 5:
        cp = std::uniform_int_distribution<char32_t>(0x80, 0x7FF)(rng);
        break;
      case 6:
        cp = std::uniform_int_distribution<char32_t>(0x4E00, 0x9FFF)(rng);
        break;  // CJK
      case 7:
        cp = std::uniform_int_distribution<char32_t>(0x800, 0xFFFD)(rng);
        break;
      case 8:
        cp = std::uniform_int_distribution<char32_t>(0x1F300, 0x1FAFF)(rng);
        break;  // emoji
      default:
        cp = std::uniform_int_distribution<char32_t>(0x10000, 0x10FFFF)(rng);
        break;
    }
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0x2581) cp = U'x';
    AppendUtf8(cp, &s);
  }
  return s;
}

std::string RandomBytes(std::mt19937& rng, size_t n) {
  std::string s;
  std::uniform_int_distribution<int> byte(0, 255);
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(byte(rng)));
  // U+2581 decodes as a space: keep it out of the round-trip input.
  for (size_t p; (p = s.find(kSpmSpace)) != std::string::npos;) s[p] = 'x';
  return s;
}

void CheckRoundTrip(const SpmTokenizer& t, const std::string& s) {
  INFO("input bytes: " << Hex(s.substr(0, 64)));
  CHECK(t.Decode(t.Encode(s, /*add_bos=*/true)) == s);
  CHECK(t.Decode(t.Encode(s, /*add_bos=*/false)) == s);
}

// A small hand-made vocabulary: <unk> <s> </s>, the 256 byte pieces (ids 3..258), then `pieces`.
SpmVocab ToyVocab(const std::vector<std::pair<std::string, float>>& pieces,
                  const std::vector<TokenType>& types = {}) {
  SpmVocab v;
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.scores = {0, 0, 0};
  v.types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl};
  char buf[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    v.tokens.push_back(buf);
    v.scores.push_back(0);
    v.types.push_back(TokenType::kByte);
  }
  for (size_t i = 0; i < pieces.size(); ++i) {
    v.tokens.push_back(pieces[i].first);
    v.scores.push_back(pieces[i].second);
    v.types.push_back(i < types.size() ? types[i] : TokenType::kNormal);
  }
  v.add_space_prefix = false;
  return v;
}

constexpr int32_t kToyFirst = 259;  // id of ToyVocab's first own piece

}  // namespace

TEST_CASE("llama.cpp SPM test vectors (ggml-vocab-llama-spm.gguf)", "[unit]") {
  const SpmTokenizer tok = MakeTokenizer(LoadGgufVocab());
  REQUIRE(tok.vocab_size() == 32000);
  const std::vector<VocabVector> vectors = ReadVocabVectors(LlamaGgufPath());
  REQUIRE(vectors.size() == 46);
  size_t passed = 0;
  for (const VocabVector& v : vectors) {
    // test-tokenizer-0 tokenizes with add_special = false: no BOS, dummy prefix still added.
    const std::vector<int32_t> ids = tok.Encode(v.input, /*add_bos=*/false);
    INFO("input: '" << v.input << "'");
    CHECK(ids == v.ids);
    if (ids == v.ids) ++passed;
  }
  std::printf("llama.cpp SPM vectors: %zu/%zu pass\n", passed, vectors.size());
  CHECK(passed == vectors.size());

  // The edge cases, spelled out (expected ids from the same .out file).
  using V = std::vector<int32_t>;
  CHECK(tok.Encode("", false).empty());  // no dummy prefix for empty text
  CHECK(tok.Encode("", true) == V{1});
  CHECK(tok.Encode(" ", false) == V{259});         // "▁▁"
  CHECK(tok.Encode("   ", false) == V{268});       // "▁▁▁▁"
  CHECK(tok.Encode("\n", false) == V{29871, 13});  // "▁", then byte fallback <0x0A>
  CHECK(tok.Encode("Hello world", true, true) == V{1, 15043, 3186, 2});
  // Emoji: 🦙 is no piece: byte fallback <0xF0><0x9F><0xA6><0x99> = 3 + byte.
  CHECK(tok.Encode(" this is \xF0\x9F\xA6\x99.cpp", false) ==
        V{29871, 445, 338, 29871, 243, 162, 169, 156, 29889, 8223});
  // CJK and Vietnamese (byte fallback inside a word).
  CHECK(tok.Encode("Cửa Việt", false) == V{315, 228, 190, 176, 29874, 10630, 30529, 29873});
  CHECK(tok.Encode("!!!!!!", false) == V{1738, 6824, 21004});
}

TEST_CASE("literal special-token text is ordinary text, ill-formed bytes fall back to bytes",
          "[unit]") {
  const SpmTokenizer tok = MakeTokenizer(LoadGgufVocab());
  for (const char* s : {"<s>", "</s>", "<unk>", "<0x0A>", "a<s>b"}) {
    INFO(s);
    const std::vector<int32_t> ids = tok.Encode(s, false);
    for (const int32_t id : ids) {
      CHECK(tok.vocab().types[static_cast<size_t>(id)] == TokenType::kNormal);
    }
    CHECK(tok.Decode(ids) == s);
  }
  // Each byte of an ill-formed sequence is its own symbol: "\xE4" (truncated 3-byte lead)
  // followed by "ab" keeps "ab" mergeable.
  const std::vector<int32_t> ids = tok.Encode(
      "\xE4"
      "ab",
      false);
  REQUIRE(ids.size() >= 3);
  CHECK(ids[0] == 29871);     // "▁"
  CHECK(ids[1] == 3 + 0xE4);  // <0xE4>
  CHECK(ids.back() == tok.TokenId("ab"));
  CHECK(tok.TokenId("\xE2\x96\x81the") == 278);
  CHECK(tok.TokenId("<s>") == 1);
  CHECK(tok.TokenId("<0x41>") == 3 + 0x41);
  CHECK(tok.TokenId("no such piece") == -1);
}

TEST_CASE("tokenizer.bin and GGUF vocabularies agree, llama2.c test.c encodings", "[unit]") {
  SpmVocab gguf_vocab = LoadGgufVocab();
  SpmVocab bin_vocab = LoadBinVocab("tokenizers/llama2-tokenizer.bin", 32000);
  REQUIRE(bin_vocab.tokens.size() == 32000);
  CHECK(bin_vocab.tokens == gguf_vocab.tokens);  // "▁", "<s>", "</s>" restored
  CHECK(bin_vocab.types == gguf_vocab.types);
  CHECK(bin_vocab.scores == gguf_vocab.scores);
  CHECK(bin_vocab.bos == gguf_vocab.bos);
  CHECK(bin_vocab.eos == gguf_vocab.eos);
  CHECK(bin_vocab.unk == gguf_vocab.unk);
  const SpmTokenizer a = MakeTokenizer(std::move(gguf_vocab));
  const SpmTokenizer b = MakeTokenizer(std::move(bin_vocab));

  std::vector<std::string> inputs;
  for (const VocabVector& v : ReadVocabVectors(LlamaGgufPath())) inputs.push_back(v.input);
  for (const char* extra :
       {"I believe the meaning of life is", "<s>hello</s>", "\xFF\xFE bad \xC0\x80",
        "日本語のテキスト、そして русский текст", "  leading and trailing  "}) {
    inputs.push_back(extra);
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 20; ++i) inputs.push_back(RandomUtf8(rng, 40));
  for (const std::string& s : inputs) {
    INFO("input: " << Hex(s.substr(0, 64)));
    for (const bool bos : {false, true}) {
      const std::vector<int32_t> ia = a.Encode(s, bos);
      const std::vector<int32_t> ib = b.Encode(s, bos);
      CHECK(ia == ib);
      CHECK(a.Decode(ia) == b.Decode(ib));
    }
  }

  // llama2.c test.c (expected ids from Meta's Python SentencePiece), BOS added.
  using V = std::vector<int32_t>;
  CHECK(b.Encode("", true) == V{1});
  CHECK(b.Encode("Hello world", true) == V{1, 15043, 3186});
  CHECK(b.Encode("I believe the meaning of life is", true) ==
        V{1, 306, 4658, 278, 6593, 310, 2834, 338});
  CHECK(b.Encode("Simply put, the theory of relativity states that ", true) ==
        V{1, 3439, 17632, 1925, 29892, 278, 6368, 310, 14215, 537, 5922, 393, 29871});
  CHECK(b.Encode("A brief message congratulating the team on the launch:\n\n        Hi "
                 "everyone,\n\n        I just ",
                 true) == V{1,     319,   11473, 2643, 378,   629, 271, 18099, 278,
                            3815,  373,   278,   6826, 29901, 13,  13,  4706,  6324,
                            14332, 29892, 13,    13,   4706,  306, 925, 29871});
  CHECK(b.Encode("Translate English to French:\n\n        sea otter => loutre de mer\n        "
                 "peppermint => "
                 "menthe poivrée\n        plush girafe => girafe peluche\n        cheese =>",
                 true) == V{1,     4103, 9632, 4223, 304,   5176, 29901, 13,   13,   4706,
                            7205,  4932, 357,  1149, 301,   449,  276,   316,  2778, 13,
                            4706,  1236, 407,  837,  524,   1149, 6042,  354,  772,  440,
                            29878, 1318, 13,   4706, 715,   1878, 330,   3055, 1725, 1149,
                            330,   3055, 1725, 4639, 28754, 13,   4706,  923,  968,  1149});
  // Decoding drops the dummy prefix after BOS (llama2.c run.c decode()).
  CHECK(b.Decode({1, 15043, 3186}) == "Hello world");
  CHECK(b.Decode({15043, 3186}) == "Hello world");
  CHECK(b.Decode({1, 15043, 3186, 2, 1, 15043}) == "Hello worldHello");
  CHECK(b.TokenBytes(15043) == " Hello");
  CHECK(b.TokenBytes(1).empty());
  CHECK(b.TokenBytes(0).empty());
  CHECK(b.TokenBytes(3 + 'A') == "A");
  CHECK(b.TokenBytes(-1).empty());
  CHECK(b.TokenBytes(32000).empty());
  CHECK(b.Decode({-5, 40000}).empty());
}

TEST_CASE("WriteSpmVocabToGguf round-trips, SpmVocabFromGguf checks what it reads", "[unit]") {
  const SpmVocab tiny = LoadBinVocab("models/llama2c/tok512.bin", 512);
  // Serialize, parse back (the bytes outlive the GgufFile), read the vocabulary.
  const auto parse = [](const GgufWriter& w) -> Result<SpmVocab> {
    auto bytes = w.Serialize();
    REQUIRE(bytes.ok());
    auto f = GgufFile::ParseBytes(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
    INFO(f.status().ToString());
    REQUIRE(f.ok());
    return SpmVocabFromGguf(*f);
  };
  {
    SpmVocab src = tiny;
    src.add_eos = true;
    src.add_space_prefix = false;
    GgufWriter w;
    WriteSpmVocabToGguf(src, &w);
    auto v = parse(w);
    REQUIRE(v.ok());
    CHECK(v->tokens == src.tokens);
    CHECK(v->scores == src.scores);
    CHECK(v->types == src.types);
    CHECK(v->bos == src.bos);
    CHECK(v->eos == src.eos);
    CHECK(v->unk == src.unk);
    CHECK(v->add_bos == src.add_bos);
    CHECK(v->add_eos);
    CHECK(!v->add_space_prefix);
  }
  {
    // Only the required keys: the rest take their defaults, types inferred as for tokenizer.bin.
    GgufWriter w;
    w.SetString("tokenizer.ggml.model", "llama");
    w.SetStringArray("tokenizer.ggml.tokens", tiny.tokens);
    auto v = parse(w);
    REQUIRE(v.ok());
    CHECK(v->types == tiny.types);
    CHECK(v->scores == std::vector<float>(tiny.tokens.size(), 0.0f));
    CHECK((v->bos == 1 && v->eos == 2 && v->unk == 0));
    CHECK((v->add_bos && !v->add_eos && v->add_space_prefix));
  }
  {
    GgufWriter w;
    WriteSpmVocabToGguf(tiny, &w);
    w.SetString("tokenizer.ggml.model", "gpt2");
    CHECK(parse(w).status().code() == StatusCode::kUnsupported);
  }
  {
    GgufWriter w;
    w.SetStringArray("tokenizer.ggml.tokens", tiny.tokens);
    CHECK(!parse(w).ok());  // no model key
  }
  {
    GgufWriter w;
    WriteSpmVocabToGguf(tiny, &w);
    w.SetFloat32Array("tokenizer.ggml.scores", std::vector<float>(511, 0.0f));
    const auto v = parse(w);
    CHECK(v.status().code() == StatusCode::kCorruptData);
    CHECK(v.status().message().find("tokenizer.ggml.scores") != std::string::npos);
  }
  {
    GgufWriter w;
    WriteSpmVocabToGguf(tiny, &w);
    std::vector<int32_t> types(512, 1);
    types[7] = 9;
    w.SetInt32Array("tokenizer.ggml.token_type", types);
    CHECK(parse(w).status().code() == StatusCode::kCorruptData);
    types.pop_back();
    w.SetInt32Array("tokenizer.ggml.token_type", types);
    CHECK(parse(w).status().code() == StatusCode::kCorruptData);
  }
  {
    GgufWriter w;
    WriteSpmVocabToGguf(tiny, &w);
    w.SetUint32("tokenizer.ggml.bos_token_id", 4000000000u);
    CHECK(!parse(w).ok());
    w.SetUint32("tokenizer.ggml.bos_token_id", 512);  // loads, but the tokenizer refuses it
    auto v = parse(w);
    REQUIRE(v.ok());
    CHECK(!SpmTokenizer::Create(std::move(v).value()).ok());
  }
  {
    GgufWriter w;
    WriteSpmVocabToGguf(tiny, &w);
    w.SetStringArray("tokenizer.ggml.tokens", {});
    w.SetFloat32Array("tokenizer.ggml.scores", {});
    w.SetInt32Array("tokenizer.ggml.token_type", {});
    CHECK(!parse(w).ok());  // empty vocabulary
  }
}

TEST_CASE("tok512.bin round-trips TinyStories text", "[unit]") {
  const SpmTokenizer tok = MakeTokenizer(LoadBinVocab("models/llama2c/tok512.bin", 512));
  REQUIRE(tok.vocab_size() == 512);
  CHECK(tok.vocab().bos == 1);
  CHECK(tok.vocab().eos == 2);
  std::ifstream f(DataPath("corpora/tinystories-valid-head.txt"));
  REQUIRE(f.good());
  std::string all;
  size_t lines = 0, bytes = 0, tokens = 0;
  for (std::string line; lines < 20 && std::getline(f, line); ++lines) {
    const std::vector<int32_t> ids = tok.Encode(line, true);
    REQUIRE(!ids.empty());
    CHECK(ids[0] == 1);
    for (const int32_t id : ids) CHECK((id >= 0 && id < 512));
    CHECK(tok.Decode(ids) == line);
    all += line + "\n";
    bytes += line.size();
    tokens += ids.size();
  }
  CHECK(lines == 20);
  CHECK(tokens * 3 < bytes * 2);  // even 512 pieces compress English (about 2 bytes a token)
  CHECK(tok.Decode(tok.Encode(all, true)) == all);
}

TEST_CASE("round trips: arbitrary UTF-8, ill-formed bytes, long and repetitive input", "[unit]") {
  const SpmTokenizer llama = MakeTokenizer(LoadGgufVocab());
  const SpmTokenizer tiny = MakeTokenizer(LoadBinVocab("models/llama2c/tok512.bin", 512));
  std::mt19937 rng(1234);
  for (int i = 0; i < 30; ++i) {
    const std::string utf8 = RandomUtf8(rng, 1 + i * 7);
    REQUIRE(IsValidUtf8(utf8));
    CheckRoundTrip(llama, utf8);
    CheckRoundTrip(tiny, utf8);
    const std::string raw = RandomBytes(rng, 1 + i * 5);
    CheckRoundTrip(llama, raw);
    CheckRoundTrip(tiny, raw);
  }
  for (const std::string& s : {std::string(1, '\0'), std::string("a\0b", 3), std::string(" "),
                               std::string("\xF0\x9F"), std::string("\xED\xA0\x80")}) {
    CheckRoundTrip(llama, s);
    CheckRoundTrip(tiny, s);
  }
  // Long real text (priority-queue merging is O(n log n)) and pathological repetition.
  std::string text = ReadFile(DataPath("corpora/war-and-peace.txt")).substr(0, 200000);
  CHECK(llama.Decode(llama.Encode(text, true)) == text);
  const std::string same(100000, 'a');
  CHECK(llama.Decode(llama.Encode(same, false)) == same);
  const std::string spaces(50000, ' ');
  CHECK(tiny.Decode(tiny.Encode(spaces, false)) == spaces);
}

TEST_CASE("merging: highest score first, leftmost on ties, unused pieces resegmented", "[unit]") {
  using V = std::vector<int32_t>;
  {
    // ab (-2) vs bc (-1): bc wins.
    const SpmTokenizer t =
        MakeTokenizer(ToyVocab({{"a", -10}, {"b", -10}, {"c", -10}, {"ab", -2}, {"bc", -1}}));
    CHECK(t.Encode("abc", false) == V{kToyFirst + 0, kToyFirst + 4});
  }
  {
    // Equal scores: the leftmost pair merges first.
    const SpmTokenizer t = MakeTokenizer(ToyVocab({{"a", -10}, {"aa", -1}}));
    CHECK(t.Encode("aaa", false) == V{kToyFirst + 1, kToyFirst + 0});
    CHECK(t.Encode("aaaa", false) == V{kToyFirst + 1, kToyFirst + 1});
  }
  {
    // "ab" is unused: it may merge on into "abc" but is never emitted itself.
    const std::vector<TokenType> types = {TokenType::kNormal, TokenType::kNormal,
                                          TokenType::kNormal, TokenType::kUnused,
                                          TokenType::kNormal};
    const SpmTokenizer t1 = MakeTokenizer(
        ToyVocab({{"a", -10}, {"b", -10}, {"c", -10}, {"ab", -1}, {"bc", -2}}, types));
    CHECK(t1.Encode("abc", false) == V{kToyFirst + 0, kToyFirst + 1, kToyFirst + 2});
    const SpmTokenizer t2 = MakeTokenizer(
        ToyVocab({{"a", -10}, {"b", -10}, {"c", -10}, {"ab", -1}, {"abc", -3}}, types));
    CHECK(t2.Encode("abc", false) == V{kToyFirst + 4});
    CHECK(t2.Encode("abd", false) == V{kToyFirst + 0, kToyFirst + 1, 3 + 'd'});
  }
  {
    // No byte pieces for some bytes: those fall back to unk.
    SpmVocab v = ToyVocab({{"a", -1}});
    v.types[3 + 'z'] = TokenType::kNormal;
    v.tokens[3 + 'z'] = "zzz-not-a-byte";
    const SpmTokenizer t = MakeTokenizer(std::move(v));
    CHECK(t.Encode("za", false) == V{0, kToyFirst});
    CHECK(t.Decode({0, kToyFirst}) == "a");
  }
  {
    // Dummy prefix: "▁" merges into the first word.
    SpmVocab v = ToyVocab({{"\xE2\x96\x81", -5},
                           {"h", -5},
                           {"i", -5},
                           {"\xE2\x96\x81h", -1},
                           {"hi", -2},
                           {"\xE2\x96\x81hi", -3}});
    v.add_space_prefix = true;
    const SpmTokenizer t = MakeTokenizer(std::move(v));
    CHECK(t.Encode("hi", true) == V{1, kToyFirst + 5});
    CHECK(t.Encode("hi hi", false) == V{kToyFirst + 5, kToyFirst + 5});
    CHECK(t.Decode({1, kToyFirst + 5, kToyFirst + 5}) == "hi hi");
  }
}

TEST_CASE("SpmTokenizer::Create rejects inconsistent vocabularies", "[unit]") {
  const SpmVocab good = ToyVocab({{"a", -1}});
  CHECK(SpmTokenizer::Create(good).ok());
  CHECK(!SpmTokenizer::Create(SpmVocab{}).ok());
  {
    // Audit item 14: a token over 64 KiB (each decoded id could cost that much).
    SpmVocab v = ToyVocab({{std::string(kMaxTokenBytes + 1, 'a'), -1}});
    const auto t = SpmTokenizer::Create(v);
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().message().find("bytes long (at most 65536)") != std::string::npos);
    CHECK(SpmTokenizer::Create(ToyVocab({{std::string(kMaxTokenBytes, 'a'), -1}})).ok());
  }
  {
    SpmVocab v = good;
    v.scores.pop_back();
    CHECK(!SpmTokenizer::Create(v).ok());
  }
  {
    SpmVocab v = good;
    v.types.push_back(TokenType::kNormal);
    CHECK(!SpmTokenizer::Create(v).ok());
  }
  for (const int32_t bad : {-1, 260, 1 << 30}) {
    SpmVocab v = good;
    v.bos = bad;
    CHECK(!SpmTokenizer::Create(v).ok());
    v = good;
    v.eos = bad;
    CHECK(!SpmTokenizer::Create(v).ok());
    v = good;
    v.unk = bad;
    CHECK(!SpmTokenizer::Create(v).ok());
  }
  {
    SpmVocab v = good;
    v.tokens[3] = "<0xZZ>";  // typed as a byte
    const auto t = SpmTokenizer::Create(v);
    CHECK(t.status().code() == StatusCode::kCorruptData);
  }
  {
    SpmVocab v = good;
    v.scores.back() = std::numeric_limits<float>::quiet_NaN();
    CHECK(!SpmTokenizer::Create(v).ok());
  }
  {
    SpmVocab v = good;
    v.types.back() = static_cast<TokenType>(42);
    CHECK(!SpmTokenizer::Create(v).ok());
  }
}

TEST_CASE("UTF-8 validation and the streaming decoder", "[unit]") {
  CHECK(IsValidUtf8(""));
  CHECK(IsValidUtf8("plain ascii"));
  CHECK(IsValidUtf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\xA6\x99"));  // é € 🦙
  CHECK(IsValidUtf8("\xF4\x8F\xBF\xBF"));                      // U+10FFFF
  CHECK(!IsValidUtf8("\xC0\x80"));                             // overlong NUL
  CHECK(!IsValidUtf8("\xE0\x80\x80"));                         // overlong
  CHECK(!IsValidUtf8("\xED\xA0\x80"));                         // surrogate
  CHECK(!IsValidUtf8("\xF4\x90\x80\x80"));                     // > U+10FFFF
  CHECK(!IsValidUtf8("\xE2\x82"));                             // truncated
  CHECK(!IsValidUtf8("\x80"));                                 // stray continuation
  CHECK(!IsValidUtf8("\xFF"));

  const std::string text = "a\xC3\xA9 \xE2\x82\xAC\xF0\x9F\xA6\x99z";  // a é € 🦙 z
  // Every split into two pushes, and byte by byte: never half a character out.
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    Utf8StreamDecoder d;
    const std::string first = d.Push(text.substr(0, cut));
    CHECK(IsValidUtf8(first));
    const std::string second = d.Push(text.substr(cut));
    CHECK(first + second + d.Flush() == text);
  }
  {
    Utf8StreamDecoder d;
    std::string out;
    for (const char c : text) {
      const std::string piece = d.Push(std::string(1, c));
      CHECK(IsValidUtf8(piece));
      out += piece;
    }
    CHECK(d.pending() == 0);
    CHECK(out == text);
  }
  {
    Utf8StreamDecoder d;
    CHECK(d.Push("\xF0\x9F").empty());
    CHECK(d.pending() == 2);
    CHECK(d.Push("\xA6").empty());
    CHECK(d.Push("\x99!") == "\xF0\x9F\xA6\x99!");
  }
  const std::string fffd(kUtf8Replacement);
  {
    // Ill-formed input: one U+FFFD per maximal subpart (Unicode 15, §3.9).
    Utf8StreamDecoder d;
    CHECK(d.Push("a\x80z") == "a" + fffd + "z");
    CHECK(d.Push("\xE2\x82z") == fffd + "z");             // truncated 3-byte: one U+FFFD
    CHECK(d.Push("\xC0\x80") == fffd + fffd);             // C0 can never start a character
    CHECK(d.Push("\xED\xA0\x80") == fffd + fffd + fffd);  // surrogate: ED's range is 80..9F
    CHECK(d.Push("\xF0\x9F\xA6").empty());
    CHECK(d.Push("\xF0") == fffd);  // 🦙 cut short by a new lead byte
    CHECK(d.Flush() == fffd);       // the unfinished F0
    CHECK(d.Flush().empty());
  }

  // Token by token through the decoder: a byte-fallback emoji appears once complete.
  const SpmTokenizer tok = MakeTokenizer(LoadBinVocab("tokenizers/llama2-tokenizer.bin", 32000));
  const std::string s = "llama \xF0\x9F\xA6\x99 and \xE4\xBD\xA0\xE5\xA5\xBD";
  const std::vector<int32_t> ids = tok.Encode(s, false);
  Utf8StreamDecoder d;
  std::string streamed;
  for (const int32_t id : ids) {
    const std::string piece = d.Push(tok.TokenBytes(id));
    CHECK(IsValidUtf8(piece));
    streamed += piece;
  }
  streamed += d.Flush();
  CHECK(streamed == " " + s);  // TokenBytes keeps the dummy prefix; Decode drops it
  CHECK(tok.Decode(ids) == s);
}

TEST_CASE("hostile tokenizer.bin files give a clear error, never a crash", "[unit]") {
  const std::vector<uint8_t> good = ReadBytes(DataPath("models/llama2c/tok512.bin"));
  REQUIRE(LoadLlama2cTokenizer(good.data(), good.size(), 512).ok());

  CHECK(!LoadLlama2cTokenizer(nullptr, 0).ok());
  CHECK(LoadLlama2cTokenizer(good.data(), 4).status().code() ==
        StatusCode::kCorruptData);  // no tokens

  // Entry boundaries: truncating exactly there leaves a smaller, well-formed vocabulary.
  std::vector<size_t> boundaries;
  for (size_t pos = 4; pos + 8 <= good.size();) {
    int32_t len;
    std::memcpy(&len, good.data() + pos + 4, 4);
    pos += 8 + static_cast<size_t>(len);
    boundaries.push_back(pos);
  }
  REQUIRE(boundaries.size() == 512);
  // Every cut through the first 64 entries; beyond, every entry boundary, the byte after it,
  // and every 13th byte (all of them would make this test slow under the sanitizers).
  std::vector<size_t> cuts;
  for (size_t cut = 0, bi = 0; cut < good.size(); ++cut) {
    while (bi < boundaries.size() && boundaries[bi] + 1 < cut) ++bi;
    const bool near_boundary = bi < boundaries.size() && boundaries[bi] <= cut;  // cut is b or b+1
    if (cut <= boundaries[63] || cut % 13 == 0 || near_boundary) cuts.push_back(cut);
  }
  size_t next_boundary = 0;
  for (const size_t cut : cuts) {
    INFO("truncated at " << cut);
    const auto with_count = LoadLlama2cTokenizer(good.data(), cut, 512);
    REQUIRE(!with_count.ok());
    CHECK(with_count.status().code() == StatusCode::kCorruptData);
    CHECK(!with_count.status().message().empty());
    const auto any_count = LoadLlama2cTokenizer(good.data(), cut);
    while (next_boundary < boundaries.size() && boundaries[next_boundary] < cut) ++next_boundary;
    const bool at_boundary = next_boundary < boundaries.size() && boundaries[next_boundary] == cut;
    CHECK(any_count.ok() == at_boundary);
    if (at_boundary) {
      REQUIRE(any_count.ok());
      CHECK(any_count->tokens.size() == next_boundary + 1);
    }
  }

  const auto patched = [&](size_t offset, int32_t value) {
    std::vector<uint8_t> b = good;
    std::memcpy(b.data() + offset, &value, 4);
    return b;
  };
  for (const int32_t bad_max : {0, -1, std::numeric_limits<int32_t>::min()}) {
    const std::vector<uint8_t> b = patched(0, bad_max);
    CHECK(LoadLlama2cTokenizer(b.data(), b.size()).status().code() == StatusCode::kCorruptData);
  }
  // First entry's length (at byte 8), then one in the middle.
  for (const size_t len_at : {size_t{8}, boundaries[300] + 4}) {
    for (const int32_t bad_len :
         {-1, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(),
          8 /* > max_token_length 7 */, 1 << 20}) {
      INFO("length " << bad_len << " at " << len_at);
      const std::vector<uint8_t> b = patched(len_at, bad_len);
      const auto r = LoadLlama2cTokenizer(b.data(), b.size());
      REQUIRE(!r.ok());
      CHECK(r.status().code() == StatusCode::kCorruptData);
      CHECK(r.status().message().find("token") != std::string::npos);
    }
  }
  // Wrong count.
  for (const size_t expected : {size_t{513}, size_t{32000}}) {
    const auto r = LoadLlama2cTokenizer(good.data(), good.size(), expected);
    REQUIRE(!r.ok());
    CHECK(r.status().message().find("512") != std::string::npos);
  }
  {
    const auto r = LoadLlama2cTokenizer(good.data(), good.size(), 511);
    REQUIRE(!r.ok());
    CHECK(r.status().message().find("more than the model's 511 tokens") != std::string::npos);
  }
  // Records past the model's count are not read: a million empty 8-byte records after the
  // real 512 stop at the first (before, all were read and kept, ~10x the file in memory).
  {
    std::vector<uint8_t> b = good;
    b.resize(b.size() + (size_t(1) << 20) * 8, 0);
    const auto r = LoadLlama2cTokenizer(b.data(), b.size(), 512);
    REQUIRE(!r.ok());
    CHECK(r.status().message().find("bytes follow token 511") != std::string::npos);
  }
  // A NaN score loads (it is just bytes) but the tokenizer refuses it.
  {
    std::vector<uint8_t> b = good;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(b.data() + boundaries[100], &nan, 4);
    auto v = LoadLlama2cTokenizer(b.data(), b.size());
    REQUIRE(v.ok());
    CHECK(!SpmTokenizer::Create(std::move(v).value()).ok());
  }
  // Random corruption: whatever loads must also tokenize without trouble.
  std::mt19937 rng(99);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<uint8_t> b = good;
    const int flips = 1 + trial % 8;
    for (int k = 0; k < flips; ++k) {
      b[std::uniform_int_distribution<size_t>(0, b.size() - 1)(rng)] = static_cast<uint8_t>(rng());
    }
    auto v = LoadLlama2cTokenizer(b.data(), b.size());
    if (!v.ok()) continue;
    auto t = SpmTokenizer::Create(std::move(v).value());
    if (!t.ok()) continue;
    const std::vector<int32_t> ids =
        t->Encode("Once upon a time, \xF0\x9F\xA6\x99 \xFF", true, true);
    for (const int32_t id : ids) CHECK((id >= 0 && static_cast<size_t>(id) < t->vocab_size()));
    (void)t->Decode(ids);
  }
  for (int trial = 0; trial < 50; ++trial) {
    const std::string junk = RandomBytes(rng, static_cast<size_t>(trial) * 13);
    const auto v = LoadLlama2cTokenizer(reinterpret_cast<const uint8_t*>(junk.data()), junk.size());
    if (!v.ok()) CHECK(!v.status().message().empty());
  }
}

TEST_CASE("SPM vocabulary: EOT from GGUF ends generation, a bad EOT id is an error", "[unit]") {
  auto f = floe::GgufFile::Open(floe::testing::DataPath("tokenizers/ggml-vocab-llama-spm.gguf"));
  REQUIRE(f.ok());
  auto vocab = floe::SpmVocabFromGguf(*f);
  REQUIRE(vocab.ok());
  CHECK(vocab->eot == -1);
  floe::SpmVocab v = *vocab;
  v.eot = 13;  // "<0x0A>" stands in for an end-of-turn token
  auto t = floe::SpmTokenizer::Create(v);
  REQUIRE(t.ok());
  CHECK(t->IsEndOfGeneration(13));
  CHECK(t->IsEndOfGeneration(2));
  CHECK_FALSE(t->IsEndOfGeneration(14));
  v.eot = int32_t(v.tokens.size());
  CHECK_FALSE(floe::SpmTokenizer::Create(v).ok());
}
