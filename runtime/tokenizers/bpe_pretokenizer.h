// The pre-tokenizers of byte-level BPE vocabularies (GGUF tokenizer.ggml.pre): they split text
// into the words that BPE merges stay inside, as llama.cpp's llm_tokenizer_bpe does. Each is a
// fixed regex (or a sequence of them, each splitting the pieces of the one before), matched by
// hand over code points classified by runtime/tokenizers/unicode/unicode_flags.h (no std::regex).
//
// Kinds, their regexes (as llama.cpp and the models' tokenizer.json spell them) and names:
//   kGpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//            "gpt-2", "phi-2", "roberta-bpe", "gigachat", "jina-es", "jina-de", "jina-v1-en",
//            "mpt", "olmo", "jais"
//   kLlama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
//            | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//            "llama3", "llama-v3", "llama-bpe", "falcon3" (these also ignore merges and add BOS
//            by default), "dbrx", "smaug-bpe"
//   kQwen2:  as kLlama3 with \p{N} (single digits) for \p{N}{1,3}
//            "qwen2", "deepseek-r1-qwen", "megrez", "stablelm2"
//   kSmollm: \p{N}, then the kGpt2 regex on each piece
//            "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b"
//   kDefault: [\p{P}\$\+<=>\^~\|]+, then the kGpt2 regex, then \p{N}+, then [0-9][0-9][0-9]
//            "default", and a vocabulary without tokenizer.ggml.pre
// A regex stage turns each piece into its matches plus the unmatched runs between them, both
// kept as pieces (nothing is dropped). Lookahead ((?!\S)) sees only the piece being split.
//
// The gpt-2 and llama3 stages reproduce llama.cpp's hand-written matchers
// (unicode_regex_split_custom_*), the others llama.cpp's std::regex evaluation (ECMAScript,
// ordered alternation) of the regex. All agree with the regexes as an independent engine
// (Python's `regex` module) evaluates them: tests/runtime/data/bpe_pretokenizer_golden.tsv. \s is
// the Unicode White_Space property, (?i:...) folds ASCII case only (no other code point lowercases
// to one of s t r e v m l d).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "platform/base/status.h"

namespace floe {

enum class BpePreTokenizerKind { kDefault, kGpt2, kLlama3, kQwen2, kSmollm };

// What a tokenizer.ggml.pre name selects.
struct BpePreTokenizerConfig {
  BpePreTokenizerKind kind = BpePreTokenizerKind::kDefault;
  // llama.cpp's ignore_merges: a whole word that is a token is emitted as that token.
  bool ignore_merges = false;
  // The add_bos default when tokenizer.ggml.add_bos_token is absent.
  bool add_bos = false;
};

// The configuration for a tokenizer.ggml.pre value ("" = absent = "default").
// Errors: kUnsupported for any other name.
Result<BpePreTokenizerConfig> BpePreTokenizerFromName(std::string_view name);

// Splits cps[0..n) into words and appends each word's length (in code points, > 0, in order,
// summing to n) to *words. flags[i] must be UnicodeFlags(cps[i]). *scratch is working memory
// (its contents are overwritten). n must be < 2^32.
void PreTokenize(BpePreTokenizerKind kind, const char32_t* cps, const uint16_t* flags, size_t n,
                 std::vector<uint32_t>* words, std::vector<uint32_t>* scratch);

}  // namespace floe
