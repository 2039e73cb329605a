// The Llama SentencePiece ("SPM", BPE-with-scores) tokenizer, as SentencePiece's BPE model,
// llama.cpp's llm_tokenizer_spm and llama2.c's encode() compute it.
//
// Encode(text):
//   1. if vocab.add_space_prefix and text is not empty, prepend ' ' (the "dummy prefix");
//   2. replace every ' ' by "▁" (U+2581); no other normalization;
//   3. split into UTF-8 characters; each byte of an ill-formed sequence is a symbol of its own;
//   4. repeatedly merge the adjacent pair whose concatenation is a vocabulary piece with the
//      highest score (ties: the leftmost pair), using a priority queue: O(n log n);
//   5. emit each final symbol's id; a symbol that is not a piece (an unknown character or a
//      stray byte) is emitted as byte-fallback tokens "<0xXX>", one per byte (unk when the
//      vocabulary lacks that byte token).
// Only normal, user-defined, unused and undefined pieces take part in 2-5: control ("<s>"),
// unknown ("<unk>") and byte ("<0x41>") pieces are never produced from text, so a literal
// "<s>" in the input is ordinary text (SentencePiece's behaviour). A merge that yields an
// unused piece is split back into its two halves on output (SentencePiece's resegmentation).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "platform/base/status.h"
#include "runtime/tokenizers/spm_vocab.h"
#include "runtime/tokenizers/tokenizer.h"

namespace floe {

class SpmTokenizer final : public Tokenizer {
 public:
  // Checks the vocabulary: non-empty, tokens/scores/types the same length, no NaN score,
  // bos/eos/unk in range, byte pieces spelled "<0xXX>". Byte pieces need not cover all 256
  // values: bytes without one fall back to unk. Errors: kInvalidArgument / kCorruptData.
  static Result<SpmTokenizer> Create(SpmVocab vocab);

  const SpmVocab& vocab() const { return vocab_; }
  std::string_view kind() const override { return "spm"; }
  size_t vocab_size() const override { return vocab_.tokens.size(); }
  int32_t bos() const override { return vocab_.bos; }
  int32_t eos() const override { return vocab_.eos; }
  bool IsEndOfGeneration(int32_t id) const override {
    return id >= 0 && (id == vocab_.eos || id == vocab_.eot);
  }
  bool add_bos_by_default() const override { return vocab_.add_bos; }
  bool StripsSpaceAfterBos() const override { return vocab_.add_space_prefix; }

  // Token ids for any bytes (never fails): [bos] + pieces of text + [eos].
  std::vector<int32_t> Encode(std::string_view text, bool add_bos,
                              bool add_eos = false) const override;

  // The raw bytes a token stands for: "▁" -> ' ', a byte piece -> that byte, control and
  // unknown tokens -> "" (as are out-of-range ids).
  std::string TokenBytes(int32_t id) const override;

  // Concatenated TokenBytes. With vocab.add_space_prefix, the leading ' ' of the first token
  // (when ids[0] is not BOS) and of each token right after a BOS is dropped: that is the dummy
  // prefix Encode added (llama2.c's decode and llama.cpp's detokenize do the same).
  // Decode(Encode(s, b)) == s for every s that does not contain U+2581 itself.
  std::string Decode(const std::vector<int32_t>& ids) const override;

  // The id of a piece (SentencePiece form, "▁" for spaces), any type; -1 if absent.
  int32_t TokenId(std::string_view piece) const;

 private:
  struct PieceHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using PieceMap = std::unordered_map<std::string, int32_t, PieceHash, std::equal_to<>>;

  struct Workspace;  // Encode's scratch buffers, reused across segments

  SpmTokenizer() = default;
  // Id of a piece Encode may produce from text, or -1.
  int32_t MergeablePieceId(std::string_view piece) const;
  void EncodeSegment(std::string_view s, Workspace* ws, std::vector<int32_t>* out) const;

  SpmVocab vocab_;
  PieceMap all_pieces_;        // every piece -> its first id
  PieceMap mergeable_pieces_;  // normal / user-defined / unused / undefined piece -> first id
  std::vector<std::string> token_bytes_;    // TokenBytes, precomputed
  std::array<int32_t, 256> byte_tokens_{};  // byte -> "<0xXX>" id, or unk
  std::array<bool, 128> barrier_{};         // ASCII characters no piece joins to a neighbour
};

}  // namespace floe
