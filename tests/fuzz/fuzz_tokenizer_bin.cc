// llama2.c tokenizer.bin: records, lengths and scores, then the SPM tokenizer built from it,
// encoding a fixed text and decoding every id.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "runtime/tokenizers/spm_tokenizer.h"
#include "runtime/tokenizers/spm_vocab.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto vocab = floe::LoadLlama2cTokenizer(data, size);
  if (!vocab.ok()) return 0;
  auto tok = floe::SpmTokenizer::Create(std::move(vocab).value());
  if (!tok.ok()) return 0;
  std::vector<int32_t> ids = tok->Encode("Once upon a time <0x0A> caf\xc3\xa9 \xff", true, true);
  (void)tok->Decode(ids);
  size_t n = tok->vocab_size() < 2048 ? tok->vocab_size() : 2048;
  for (size_t i = 0; i < n; ++i) (void)tok->TokenBytes(int32_t(i));
  return 0;
}
