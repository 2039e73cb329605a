// The byte-level vocabulary of the tiny RWKV models (rwkv.cpp tests): 256 tokens, token id =
// byte value, no special tokens. Any byte string encodes; decoding is concatenation.
#pragma once

#include "runtime/tokenizers/tokenizer.h"

namespace floe {

class ByteTokenizer final : public Tokenizer {
 public:
  std::string_view kind() const override { return "bytes"; }
  size_t vocab_size() const override { return 256; }
  std::vector<int32_t> Encode(std::string_view text, bool add_bos,
                              bool add_eos = false) const override;
  std::string TokenBytes(int32_t id) const override;
  std::string Decode(const std::vector<int32_t>& ids) const override;
  int32_t bos() const override { return -1; }
  int32_t eos() const override { return -1; }
  bool add_bos_by_default() const override { return false; }
};

}  // namespace floe
