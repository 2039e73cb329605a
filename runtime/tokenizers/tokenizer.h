// The tokenizer contract shared by every vocabulary kind (SentencePiece/SPM, byte-level BPE,
// plain bytes, the RWKV "world" trie): text <-> token ids, and the raw bytes of each token for
// UTF-8-safe streaming (runtime/tokenizers/token_text.h). Implementations are immutable after
// creation and safe to use from many threads at once. Encode never fails: every byte string has an
// encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace floe {

// The longest token text a vocabulary may hold (the RWKV world vocabulary allows 1 KiB). Real
// vocabularies stay under a few hundred bytes; the cap makes every decode of n ids at most
// n x 64 KiB, whatever file the vocabulary came from (docs/allocation-audit.md item 14).
inline constexpr size_t kMaxTokenBytes = size_t(64) << 10;


class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // "spm", "bpe", "bytes", "rwkv-world", ...: what kind of vocabulary this is.
  virtual std::string_view kind() const = 0;
  virtual size_t vocab_size() const = 0;

  // [bos if add_bos and the vocabulary has one] + tokens of text + [eos if add_eos].
  virtual std::vector<int32_t> Encode(std::string_view text, bool add_bos,
                                      bool add_eos = false) const = 0;
  // The raw bytes a token stands for (control tokens and bad ids: "").
  virtual std::string TokenBytes(int32_t id) const = 0;
  // Concatenated token bytes, with any encoder-added prefix (SPM's dummy space) removed.
  virtual std::string Decode(const std::vector<int32_t>& ids) const = 0;

  // Special tokens; -1 when the vocabulary has none.
  virtual int32_t bos() const = 0;
  virtual int32_t eos() const = 0;
  // Whether prompts should start with BOS by default (the file's add_bos flag).
  virtual bool add_bos_by_default() const = 0;
  // True for tokens that end generation (EOS, EOT, ...).
  virtual bool IsEndOfGeneration(int32_t id) const { return id >= 0 && id == eos(); }
  // True when the first token after BOS carries a leading space the encoder added (SPM's
  // dummy prefix), which streaming output must drop.
  virtual bool StripsSpaceAfterBos() const { return false; }
};

}  // namespace floe
