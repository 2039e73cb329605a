// The RWKV "world" tokenizer as llama.cpp stores it in GGUF (tokenizer.ggml.model = "rwkv"):
// each token's bytes are written as an escaped string (Python repr without the quotes:
// \xNN, \t, \n, \r, \\, \' and \"), and text is encoded greedily, taking at every position
// the longest token whose bytes match (llama.cpp's llm_tokenizer_rwkv). The vocabulary is
// hostile input: a malformed escape, an empty token (other than a special id, which floe writes
// empty) and two tokens with the same bytes (ambiguous: llama.cpp lets the later id win) are
// errors naming the ids. A byte that no token starts with is skipped (the world vocabulary has all 256 single bytes, so this only
// happens with damaged vocabularies). No BOS/EOS are added by default; token ids listed as EOS
// or EOT (llama.cpp's converter marks "\n\n", id 261, as EOT) end generation.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "platform/base/status.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/tokenizers/tokenizer.h"

namespace floe {

// Unescapes one token string (the inverse of llama.cpp's convert_hf_to_gguf repr()) into
// *bytes; false for a malformed escape (a lone trailing backslash, \x without two hex digits,
// or a backslash before any other character).
bool UnescapeRwkvToken(std::string_view escaped, std::string* bytes);
// The escaped form floe writes: printable ASCII as is (backslash and quote escaped), \t \n \r,
// everything else \xNN.
std::string EscapeRwkvToken(std::string_view bytes);

class RwkvWorldTokenizer final : public Tokenizer {
 public:
  // `tokens` are the escaped strings; -1 for absent special ids.
  static Result<std::unique_ptr<RwkvWorldTokenizer>> Create(const std::vector<std::string>& tokens,
                                                            int32_t bos, int32_t eos, int32_t eot);

  std::string_view kind() const override { return "rwkv-world"; }
  size_t vocab_size() const override { return bytes_.size(); }
  std::vector<int32_t> Encode(std::string_view text, bool add_bos,
                              bool add_eos = false) const override;
  std::string TokenBytes(int32_t id) const override;
  std::string Decode(const std::vector<int32_t>& ids) const override;
  int32_t bos() const override { return bos_; }
  int32_t eos() const override { return eos_; }
  bool add_bos_by_default() const override { return false; }
  bool IsEndOfGeneration(int32_t id) const override {
    return id >= 0 && (id == eos_ || id == eot_);
  }

 private:
  struct Node {
    int32_t value = -1;
    std::vector<std::pair<uint8_t, int32_t>> children;  // byte -> node index
  };
  int32_t Child(int32_t node, uint8_t byte) const;
  std::vector<std::string> bytes_;  // unescaped, per id
  std::vector<Node> trie_;
  int32_t bos_ = -1, eos_ = -1, eot_ = -1;
};

// From tokenizer.ggml.tokens / bos_token_id / eos_token_id / eot_token_id.
Result<std::unique_ptr<Tokenizer>> RwkvWorldTokenizerFromGguf(const GgufFile& gguf);

}  // namespace floe
