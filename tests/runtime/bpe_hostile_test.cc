// Byte-level BPE on small hand-made vocabularies: merge order, ignore_merges, user-defined
// and end-of-turn tokens, llama.cpp's byte fallback; and hostile vocabularies (GGUF metadata
// and BpeVocab) that must fail with a clear error, never crash.
#include <cstdio>
#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bpe_test_util.h"
#include "runtime/tokenizers/bpe_tokenizer.h"
#include "runtime/tokenizers/bpe_vocab.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/formats/gguf/gguf_writer.h"
#include "runtime/tokenizers/tokenizer_factory.h"

using namespace floe;

namespace {

std::string Mapped(std::string_view raw) {
  std::string s;
  AppendBpeMapped(raw, &s);
  return s;
}

// The 256 byte tokens (id = byte value, in mapped form), then `extra` (mapped form), with
// `merges` ("left right", mapped form).
BpeVocab ToyVocab(const std::vector<std::string>& extra, const std::vector<std::string>& merges,
                  std::string pre = "gpt-2") {
  BpeVocab v;
  for (int b = 0; b < 256; ++b) v.tokens.push_back(Mapped(std::string(1, static_cast<char>(b))));
  for (const std::string& t : extra) v.tokens.push_back(t);
  v.merges = merges;
  v.pre = std::move(pre);
  return v;
}

BpeTokenizer Make(BpeVocab v) {
  auto t = BpeTokenizer::Create(std::move(v));
  INFO(t.status().ToString());
  REQUIRE(t.ok());
  return std::move(t).value();
}

// A GGUF holding a small valid "gpt2" vocabulary, changed by `edit`, read back with
// TokenizerFromGguf.
Result<std::unique_ptr<Tokenizer>> FromGguf(const std::function<void(GgufWriter*)>& edit,
                                            bool with_merges = true) {
  const BpeVocab v = ToyVocab({"ab", "<|endoftext|>"}, {"a b"});
  GgufWriter w;
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetString("tokenizer.ggml.pre", "gpt-2");
  w.SetStringArray("tokenizer.ggml.tokens", v.tokens);
  std::vector<int32_t> types(v.tokens.size(), 1);
  types.back() = 3;
  w.SetInt32Array("tokenizer.ggml.token_type", types);
  if (with_merges) w.SetStringArray("tokenizer.ggml.merges", v.merges);
  w.SetUint32("tokenizer.ggml.bos_token_id", 257);
  w.SetUint32("tokenizer.ggml.eos_token_id", 257);
  edit(&w);
  auto bytes = w.Serialize();
  REQUIRE(bytes.ok());
  auto f = GgufFile::ParseBytes(reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size());
  REQUIRE(f.ok());
  return TokenizerFromGguf(*f);  // the tokenizer owns copies: f may go
}

void CheckError(const Status& s, StatusCode code, std::string_view mentions) {
  INFO(s.ToString());
  CHECK(s.code() == code);
  CHECK(s.message().find(mentions) != std::string::npos);
}

}  // namespace

TEST_CASE("BPE merges: lowest rank first, leftmost on ties", "[unit]") {
  using V = std::vector<int32_t>;
  // Byte tokens have id = byte value; then 256 "bc", 257 "ab", 258 "aa", 259 "aaa".
  const BpeTokenizer t = Make(ToyVocab({"bc", "ab", "aa", "aaa"}, {"b c", "a b", "a a", "aa a"}));
  CHECK(t.Encode("abc", false) == V{'a', 256});  // "b c" (rank 0) before "a b" (rank 1)
  CHECK(t.Encode("ab", false) == V{257});
  CHECK(t.Encode("aaaa", false) == V{258, 258});             // leftmost first: aa|a|a, then a|a
  CHECK(t.Encode("aaa", false) == V{259});                   // aa|a, then "aa a"
  CHECK(t.Encode("x abc", false) == V{'x', ' ', 'a', 256});  // words "x", " abc"; no "Ġ a" merge
  CHECK(t.Decode(t.Encode("x abc aaaa", false)) == "x abc aaaa");
}

TEST_CASE("BPE: ignore_merges (llama3) emits a whole-word token first", "[unit]") {
  using V = std::vector<int32_t>;
  // "abcd" (258) is a token no merge sequence reaches.
  const std::vector<std::string> extra = {"ab", "cd", "abcd"};
  const std::vector<std::string> merges = {"a b", "c d"};
  CHECK(Make(ToyVocab(extra, merges, "gpt-2")).Encode("abcd", false) == V{256, 257});
  const BpeTokenizer llama3 = Make(ToyVocab(extra, merges, "llama-bpe"));
  CHECK(llama3.Encode("abcd", false) == V{258});
  CHECK(llama3.Encode("abcdab", false) == V{256, 257, 256});  // not a token: merges as usual
  CHECK(llama3.add_bos_by_default());                         // llama3 family default
}

TEST_CASE("BPE: user-defined tokens are cut out, control and end-of-turn ones are text", "[unit]") {
  using V = std::vector<int32_t>;
  // 256 "<tag>", 257 "<tag>x", 258 "<|eot_id|>" (control), 259 "<|im_end|>" (stored as
  // user-defined: an end-of-turn marker, so llama.cpp makes it control).
  BpeVocab v = ToyVocab({"<tag>", "<tag>x", "<|eot_id|>", "<|im_end|>"}, {});
  v.types.assign(v.tokens.size(), TokenType::kNormal);
  v.types[256] = TokenType::kUserDefined;
  v.types[257] = TokenType::kUserDefined;
  v.types[258] = TokenType::kControl;
  v.types[259] = TokenType::kUserDefined;
  v.bos = 258;
  v.eos = 258;
  const BpeTokenizer t = Make(std::move(v));
  CHECK(t.Encode("a<tag>b", false) == V{'a', 256, 'b'});
  CHECK(t.Encode("<tag>x<tag>", false) == V{257, 256});  // longest first
  CHECK(t.Encode("<tag><tag>", false) == V{256, 256});
  const std::vector<int32_t> eot = t.Encode("<|eot_id|>", false);
  CHECK(eot.size() == 10);  // one token per byte here: no merges
  CHECK(t.Decode(eot) == "<|eot_id|>");
  CHECK(t.Encode("<|im_end|>", false).size() == 10);
  CHECK(t.type(259) == TokenType::kControl);
  CHECK(t.TokenBytes(256) == "<tag>");
  CHECK(t.TokenBytes(258).empty());
  CHECK(t.TokenBytes(259).empty());
  CHECK(t.IsEndOfGeneration(258));
  CHECK(t.IsEndOfGeneration(259));
  CHECK_FALSE(t.IsEndOfGeneration(256));
  CHECK(t.eot() == 258);  // no eot id given: the first end-of-turn marker
  CHECK(t.Decode({'a', 256, 258, 259, 'b'}) == "a<tag>b");
  CHECK_FALSE(t.add_bos_by_default());  // gpt-2 default
}

TEST_CASE("BPE: a byte without a token falls back as llama.cpp does", "[unit]") {
  using V = std::vector<int32_t>;
  BpeVocab v = ToyVocab({"\xC4"}, {});  // 256: the one-byte text "\xC4"
  v.tokens['z'] = "[no z]";             // 'z' (mapped "z") has no token now
  v.tokens['\n'] = "[no newline]";      // '\n' is mapped "Ċ" = C4 8A: none either
  const BpeTokenizer t = Make(std::move(v));
  CHECK(t.Encode("azb", false) == V{'a', 'b'});  // "z" is no one-byte token: dropped
  CHECK(t.Encode("a\n", false) == V{'a', 256});  // "\xC4" is, "\x8A" is not
}

TEST_CASE("BPE vocabulary from GGUF: defaults and keys", "[unit]") {
  auto t = FromGguf([](GgufWriter*) {});
  INFO(t.status().ToString());
  REQUIRE(t.ok());
  CHECK((*t)->kind() == "bpe");
  CHECK((*t)->Encode("abab", false) == std::vector<int32_t>{256, 256});
  CHECK_FALSE((*t)->add_bos_by_default());
  t = FromGguf([](GgufWriter* w) { w->SetString("tokenizer.ggml.pre", "llama-bpe"); });
  REQUIRE(t.ok());
  CHECK((*t)->add_bos_by_default());
  t = FromGguf([](GgufWriter* w) {
    w->SetString("tokenizer.ggml.pre", "llama-bpe");
    w->SetBool("tokenizer.ggml.add_bos_token", false);
  });
  REQUIRE(t.ok());
  CHECK_FALSE((*t)->add_bos_by_default());
  t = FromGguf([](GgufWriter* w) { w->SetString("tokenizer.ggml.pre", "default"); });
  REQUIRE(t.ok());
}

TEST_CASE("a BPE token over 64 KiB is refused", "[unit]") {
  // Audit item 14: each decoded id could cost that much.
  const auto t = BpeTokenizer::Create(ToyVocab({std::string(kMaxTokenBytes + 1, 'a')}, {}));
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().message().find("bytes long (at most 65536)") != std::string::npos);
  CHECK(BpeTokenizer::Create(ToyVocab({std::string(kMaxTokenBytes, 'a')}, {})).ok());
}

TEST_CASE("hostile BPE vocabularies fail with clear errors", "[unit]") {
  const auto gguf_error = [](const std::function<void(GgufWriter*)>& edit, StatusCode code,
                             std::string_view mentions, bool with_merges = true) {
    const auto t = FromGguf(edit, with_merges);
    REQUIRE_FALSE(t.ok());
    CheckError(t.status(), code, mentions);
  };
  using SC = StatusCode;
  gguf_error([](GgufWriter* w) { w->SetStringArray("tokenizer.ggml.tokens", {}); },
             SC::kCorruptData, "empty");
  gguf_error([](GgufWriter* w) { w->SetStringArray("tokenizer.ggml.merges", {"a zz"}); },
             SC::kCorruptData, "'zz', which is not a token");
  gguf_error([](GgufWriter* w) { w->SetStringArray("tokenizer.ggml.merges", {"qq b"}); },
             SC::kCorruptData, "'qq', which is not a token");
  gguf_error([](GgufWriter* w) { w->SetStringArray("tokenizer.ggml.merges", {"ab"}); },
             SC::kCorruptData, "two tokens separated by a space");
  gguf_error([](GgufWriter* w) { w->SetStringArray("tokenizer.ggml.merges", {" a"}); },
             SC::kCorruptData, "two tokens separated by a space");
  gguf_error([](GgufWriter* w) { w->SetStringArray("tokenizer.ggml.merges", {"b a"}); },
             SC::kCorruptData,
             "not a token");  // "ba" is no token
  gguf_error([](GgufWriter*) {}, SC::kCorruptData, "tokenizer.ggml.merges", /*with_merges=*/false);
  gguf_error([](GgufWriter* w) { w->SetUint32("tokenizer.ggml.bos_token_id", 258); },
             SC::kCorruptData, "bos_token_id = 258");
  gguf_error([](GgufWriter* w) { w->SetUint32("tokenizer.ggml.eot_token_id", 100000); },
             SC::kCorruptData, "eot_token_id");
  gguf_error([](GgufWriter* w) { w->SetInt32("tokenizer.ggml.padding_token_id", -2); },
             SC::kCorruptData, "padding_token_id");
  gguf_error(
      [](GgufWriter* w) {
        w->SetInt32Array("tokenizer.ggml.token_type", {1, 1});
      },
      SC::kCorruptData, "token_type has 2 entries");
  gguf_error(
      [](GgufWriter* w) {
        w->SetInt32Array("tokenizer.ggml.token_type", std::vector<int32_t>(258, 9));
      },
      SC::kCorruptData, "not a token type");
  gguf_error([](GgufWriter* w) { w->SetString("tokenizer.ggml.pre", "no-such-pre"); },
             SC::kUnsupported, "no-such-pre");
  // Keys of the wrong type (GgufFile's accessors say so).
  gguf_error([](GgufWriter* w) { w->SetString("tokenizer.ggml.merges", "a b"); },
             SC::kInvalidArgument, "merges");
  gguf_error([](GgufWriter* w) { w->SetUint32("tokenizer.ggml.pre", 3); }, SC::kInvalidArgument,
             "pre");
  gguf_error(
      [](GgufWriter* w) {
        std::vector<std::string> tokens = ToyVocab({"ab", "<|endoftext|>"}, {}).tokens;
        tokens[257] = "ab";
        w->SetStringArray("tokenizer.ggml.tokens", tokens);
      },
      SC::kCorruptData, "same text as token 256");

  // BpeVocab directly.
  CheckError(BpeTokenizer::Create(BpeVocab{}).status(), SC::kInvalidArgument, "empty");
  BpeVocab v = ToyVocab({}, {});
  v.types.assign(3, TokenType::kNormal);
  CheckError(BpeTokenizer::Create(v).status(), SC::kCorruptData, "3 token types");
  v = ToyVocab({}, {});
  v.eos = 256;
  CheckError(BpeTokenizer::Create(v).status(), SC::kCorruptData, "EOS id 256");
  v = ToyVocab({}, {});
  v.unk = -7;
  CheckError(BpeTokenizer::Create(v).status(), SC::kCorruptData, "unknown id -7");
}

TEST_CASE("random vocabularies and inputs never crash", "[unit]") {
  std::mt19937 rng(5);
  const auto random_text = [&](size_t max_len) {
    std::string s;
    const size_t n = std::uniform_int_distribution<size_t>(0, max_len)(rng);
    for (size_t i = 0; i < n; ++i)
      s.push_back(static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng)));
    return s;
  };
  size_t created = 0;
  for (int round = 0; round < 200; ++round) {
    // Random base tokens, then tokens made by merging two earlier ones (so that some
    // vocabularies are valid), now and then a garbage merge or a duplicated token.
    BpeVocab v;
    const size_t base = std::uniform_int_distribution<size_t>(1, 12)(rng);
    for (size_t i = 0; i < base; ++i) {
      v.tokens.push_back(round % 2 ? Mapped(random_text(2)) : random_text(2));
    }
    for (int i = 0; i < 30; ++i) {
      const std::string a = v.tokens[rng() % v.tokens.size()];
      const std::string b = v.tokens[rng() % v.tokens.size()];
      const bool plausible = !a.empty() && !b.empty() && a.find(' ') == std::string::npos;
      if (rng() % 40 == 0) {
        v.merges.push_back(random_text(5));  // garbage
      } else if (rng() % 40 == 0) {
        v.tokens.push_back(a);  // a duplicate
      } else if (plausible &&
                 std::find(v.tokens.begin(), v.tokens.end(), a + b) == v.tokens.end()) {
        v.merges.push_back(a + " " + b);
        v.tokens.push_back(a + b);
      }
    }
    const size_t n = v.tokens.size();
    v.types.resize(n);
    for (TokenType& type : v.types) type = static_cast<TokenType>(rng() % 7);
    const char* pres[] = {"", "gpt-2", "llama-bpe", "qwen2", "smollm"};
    v.pre = pres[round % 5];
    auto t = BpeTokenizer::Create(std::move(v));
    if (!t.ok()) continue;
    ++created;
    for (int i = 0; i < 5; ++i) {
      const std::string s = random_text(64);
      const std::vector<int32_t> ids = t->Encode(s, true, true);
      for (const int32_t id : ids) CHECK((id >= 0 && static_cast<size_t>(id) < t->vocab_size()));
      (void)t->Decode(ids);
    }
  }
  std::printf("random BPE vocabularies: %zu of 200 valid\n", created);
  CHECK(created > 20);
}
