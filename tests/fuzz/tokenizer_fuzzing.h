// The encode/decode harness body every tokenizer shares: the first input byte picks what the
// rest is: text to encode (with or without BOS/EOS), or little-endian int32 ids to decode
// (any value, in range or not), each id's bytes read one by one as well.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "runtime/tokenizers/tokenizer.h"

namespace floe::fuzz {

inline void FuzzTokenizer(const Tokenizer& t, const uint8_t* data, size_t size) {
  if (size < 1) return;
  const uint8_t mode = data[0];
  ++data;
  --size;
  if ((mode & 1) == 0) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::vector<int32_t> ids = t.Encode(text, (mode & 2) != 0, (mode & 4) != 0);
    for (int32_t id : ids)
      if (id < 0 || size_t(id) >= t.vocab_size()) __builtin_trap();  // Encode made a bad id
    (void)t.Decode(ids);
  } else {
    std::vector<int32_t> ids = Ids(data, size);
    (void)t.Decode(ids);
    for (int32_t id : ids) {
      (void)t.TokenBytes(id);
      (void)t.IsEndOfGeneration(id);
    }
  }
}

}  // namespace floe::fuzz
