// An RWKV world vocabulary itself (as a GGUF carries it: escaped token strings): one token per
// input line; build the tokenizer, then encode a fixed text and decode every id.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/tokenizers/rwkv_world_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> tokens(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == '\n') tokens.emplace_back();
    else tokens.back().push_back(char(data[i]));
  }
  int32_t eos = tokens.size() > 1 ? 0 : -1;
  auto t = floe::RwkvWorldTokenizer::Create(tokens, -1, eos, -1);
  if (!t.ok()) return 0;
  std::vector<int32_t> ids = (*t)->Encode("Once upon a time \\x00 caf\xc3\xa9 \xff\n", false, true);
  (void)(*t)->Decode(ids);
  for (size_t i = 0; i < (*t)->vocab_size() && i < 4096; ++i) (void)(*t)->TokenBytes(int32_t(i));
  return 0;
}
