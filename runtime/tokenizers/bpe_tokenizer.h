// The byte-level BPE tokenizer of GPT-2 style vocabularies (GGUF tokenizer.ggml.model "gpt2":
// GPT-2, Llama 3, Qwen2, SmolLM, ...), token for token what llama.cpp's llm_tokenizer_bpe
// produces with parse_special = false (what its test-tokenizer-0 checks).
//
// Encode(text):
//   1. User-defined tokens (type 4) found literally in the text are cut out and emitted as
//      themselves: for each, longest text first (ties: lower id first), every leftmost
//      non-overlapping occurrence in the text not yet cut. Control and unknown tokens are NOT
//      matched: "<|endoftext|>" in the text is ordinary text (llama.cpp's parse_special=false).
//   2. Each remaining stretch is split into words by the vocabulary's pre-tokenizer
//      (runtime/tokenizers/bpe_pretokenizer.h). For this, text is decoded as UTF-8; each byte of an
//      ill-formed sequence counts as one U+FFFD code point (but keeps its own byte for 3-4).
//   3. In each word, every byte is a symbol (the token of its mapped character, see
//      BpeByteToChar); repeatedly the adjacent pair with the lowest merge rank is merged
//      (ties: the leftmost pair), until no adjacent pair is a merge. With ignore_merges (the
//      llama3 pre-tokenizer) a word that is itself a token is emitted as that token first.
//   4. Each final symbol's token is emitted. A byte whose mapped character is no token falls
//      back as llama.cpp does: each byte of the character's UTF-8 that is a one-byte token is
//      emitted, the others are dropped.
// Encode is lossless, Decode(Encode(s)) == s for every byte string s, when every byte's
// mapped character is a token and the tokens merges produce are normal (true of real
// vocabularies; the GPT-2 tests check it on corpora and random bytes).
// Differences from llama.cpp, all outside its well-defined inputs: llama.cpp turns each byte
// of ill-formed UTF-8 into U+FFFD's three bytes (lossy, and its decoder accepts some ill-formed
// forms such as overlong ones), here the bytes are kept; and llama.cpp ignores bad special ids
// or duplicated token texts (or aborts), here they are load errors.
//
// TokenBytes: normal tokens -> their text mapped back to bytes (a character outside the byte
// mapping is kept as its UTF-8); user-defined tokens -> their text; control, unknown, byte,
// unused and undefined tokens -> "" (llama.cpp's token_to_piece without special). As in
// llama.cpp, tokens spelled like end-of-turn markers ("<|endoftext|>", "<|eot_id|>",
// "<|im_end|>", "<|end|>", "<end_of_turn>", "<|eom_id|>", "<EOT>") are treated as control
// tokens whatever their stored type. Decode concatenates TokenBytes (llama.cpp's clean_spaces
// post-processing is not applied, so decoding stays lossless).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "platform/base/status.h"
#include "runtime/tokenizers/bpe_pretokenizer.h"
#include "runtime/tokenizers/bpe_vocab.h"
#include "runtime/tokenizers/tokenizer.h"

namespace floe {

class GgufFile;

class BpeTokenizer final : public Tokenizer {
 public:
  // Checks the vocabulary: non-empty, no duplicated token text, token types (if given) one per
  // token, special ids in range, a known pre-tokenizer (kUnsupported otherwise), and every
  // merge "left right" made of two tokens whose concatenation is a token (as Hugging Face
  // tokenizers requires). Errors: kInvalidArgument / kCorruptData / kUnsupported.
  static Result<BpeTokenizer> Create(BpeVocab vocab);

  const BpeVocab& vocab() const { return vocab_; }
  const BpePreTokenizerConfig& pre_tokenizer() const { return pre_; }
  std::string_view kind() const override { return "bpe"; }
  size_t vocab_size() const override { return vocab_.tokens.size(); }
  int32_t bos() const override { return vocab_.bos; }
  int32_t eos() const override { return vocab_.eos; }
  // EOT: tokenizer.ggml.eot_token_id, else the lowest-id token spelled like an end-of-turn
  // marker (the list above plus DeepSeek's "<｜end▁of▁sentence｜>"), else -1.
  int32_t eot() const { return eot_; }
  bool add_bos_by_default() const override { return add_bos_; }
  // EOS, EOT, EOM and every token spelled like an end-of-turn marker.
  bool IsEndOfGeneration(int32_t id) const override;

  // [bos if add_bos and the vocabulary has one] + tokens of text + [eos if add_eos and it has one].
  std::vector<int32_t> Encode(std::string_view text, bool add_bos,
                              bool add_eos = false) const override;
  std::string TokenBytes(int32_t id) const override;
  std::string Decode(const std::vector<int32_t>& ids) const override;

  // The id of a token by its stored (mapped) text, any type; -1 if absent.
  int32_t TokenId(std::string_view text) const;
  // The effective type of a token (after the end-of-turn override); kUndefined for bad ids.
  TokenType type(int32_t id) const;

 private:
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using TextMap = std::unordered_map<std::string, int32_t, TextHash, std::equal_to<>>;

  // A merge, found by the ids of its two halves.
  struct MergeSlot {
    uint64_t key;  // (left << 32) | right; kEmptySlot when unused
    int32_t rank;
    int32_t result;
  };
  struct Workspace;

  BpeTokenizer() = default;
  Status BuildMerges();
  // The merge of (left, right): {rank, result id}, rank -1 when they do not merge.
  std::pair<int32_t, int32_t> FindMerge(int32_t left, int32_t right) const;
  void EncodeFragment(std::string_view text, Workspace* ws, std::vector<int32_t>* out) const;
  void EncodeWord(std::string_view word, Workspace* ws, std::vector<int32_t>* out) const;
  void EmitByte(uint8_t byte, std::vector<int32_t>* out) const;

  BpeVocab vocab_;
  BpePreTokenizerConfig pre_;
  std::vector<TokenType> types_;  // effective types
  TextMap text_to_id_;
  std::vector<MergeSlot> merge_slots_;  // open addressing, power-of-two size
  int merge_shift_ = 64;
  std::vector<int32_t> byte_token_;                  // byte -> token of its mapped character, or -1
  std::vector<std::vector<int32_t>> byte_fallback_;  // byte -> tokens emitted when that is -1
  std::vector<std::pair<std::string, int32_t>> user_defined_;  // longest first
  std::vector<std::string> token_bytes_;
  std::vector<bool> end_of_generation_;
  int32_t eot_ = -1;
  bool add_bos_ = false;
};

// TokenizerFromGguf's "gpt2" branch: BpeVocabFromGguf + BpeTokenizer::Create.
Result<std::unique_ptr<Tokenizer>> BpeTokenizerFromGguf(const GgufFile& gguf);

}  // namespace floe
