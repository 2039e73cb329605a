// The vocabulary of a GGUF (tokenizer.ggml.*: SPM, byte-level BPE, RWKV world): build the
// tokenizer the file names, then encode a fixed text and decode every id and some out of range.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/tokenizers/tokenizer_factory.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = floe::GgufFile::ParseBytes(data, size);
  if (!f.ok()) return 0;
  auto tok = floe::TokenizerFromGguf(*f);
  if (!tok.ok() || *tok == nullptr) return 0;  // null: the file has no vocabulary
  const floe::Tokenizer& t = **tok;
  std::vector<int32_t> ids =
      t.Encode("Once upon a time, \xe2\x96\x81 caf\xc3\xa9 \xf0\x9f\x99\x82 <s>\n\t 123", true, true);
  ids.push_back(-1);
  ids.push_back(int32_t(t.vocab_size()));
  ids.push_back(INT32_MAX);
  (void)t.Decode(ids);
  size_t n = t.vocab_size() < 4096 ? t.vocab_size() : 4096;
  for (size_t i = 0; i < n; ++i) (void)t.TokenBytes(int32_t(i));
  (void)t.IsEndOfGeneration(t.eos());
  return 0;
}
