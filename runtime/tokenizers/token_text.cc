#include "runtime/tokenizers/token_text.h"

namespace floe {

std::string TokenTextStream::Next(int32_t id) {
  if (tok_ == nullptr) return {};
  std::string bytes = tok_->TokenBytes(id);
  if (tok_->StripsSpaceAfterBos() && prev_ == tok_->bos() && !bytes.empty() && bytes[0] == ' ')
    bytes.erase(0, 1);
  prev_ = id;
  return utf8_.Push(bytes);
}

}  // namespace floe
