#include "runtime/tokenizers/byte_tokenizer.h"

namespace floe {

std::vector<int32_t> ByteTokenizer::Encode(std::string_view text, bool, bool) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (unsigned char ch : text) ids.push_back(int32_t(ch));
  return ids;
}

std::string ByteTokenizer::TokenBytes(int32_t id) const {
  if (id < 0 || id > 255) return {};
  return std::string(1, char(uint8_t(id)));
}

std::string ByteTokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) out += TokenBytes(id);
  return out;
}

}  // namespace floe
