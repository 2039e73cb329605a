#include "runtime/tokenizers/rwkv_world_tokenizer.h"

#include <cctype>

namespace floe {

bool UnescapeRwkvToken(std::string_view s, std::string* bytes) {
  std::string& out = *bytes;
  out.clear();
  out.reserve(s.size());
  auto hex = [](char h) { return h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10; };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i == s.size()) return false;
    const char c = s[i];
    if (c == 't') {
      out += '\t';
    } else if (c == 'n') {
      out += '\n';
    } else if (c == 'r') {
      out += '\r';
    } else if (c == '\\' || c == '\'' || c == '"') {
      out += c;
    } else if (c == 'x' && i + 2 < s.size() && std::isxdigit(uint8_t(s[i + 1])) &&
               std::isxdigit(uint8_t(s[i + 2]))) {
      out += char(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      return false;
    }
  }
  return true;
}

std::string EscapeRwkvToken(std::string_view bytes) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (c == '\\' || c == '\'') {
      out += '\\';
      out += char(c);
    } else if (c == '\t')
      out += "\\t";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c >= 0x20 && c < 0x7f)
      out += char(c);
    else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

int32_t RwkvWorldTokenizer::Child(int32_t node, uint8_t byte) const {
  for (const auto& [b, idx] : trie_[size_t(node)].children)
    if (b == byte) return idx;
  return -1;
}

namespace {
constexpr size_t kMaxRwkvTokenBytes = 1024;
}  // namespace

Result<std::unique_ptr<RwkvWorldTokenizer>> RwkvWorldTokenizer::Create(
    const std::vector<std::string>& tokens, int32_t bos, int32_t eos, int32_t eot) {
  if (tokens.empty()) return InvalidArgument("RWKV world vocabulary is empty");
  const int32_t n = int32_t(tokens.size());
  for (int32_t id : {bos, eos, eot})
    if (id < -1 || id >= n)
      return InvalidArgument("RWKV world vocabulary: special token id " + std::to_string(id) +
                             " outside [0, " + std::to_string(n) + ")");
  std::unique_ptr<RwkvWorldTokenizer> t(new RwkvWorldTokenizer());
  t->bos_ = bos;
  t->eos_ = eos;
  t->eot_ = eot;
  t->trie_.emplace_back();
  t->bytes_.reserve(tokens.size());
  auto named = [](int32_t id) { return "RWKV world vocabulary: token " + std::to_string(id); };
  for (int32_t id = 0; id < n; ++id) {
    t->bytes_.emplace_back();
    if (!UnescapeRwkvToken(tokens[size_t(id)], &t->bytes_.back()))
      return InvalidArgument(named(id) + " has a malformed escape: '" +
                             tokens[size_t(id)].substr(0, 64) + "'");
    const std::string& b = t->bytes_.back();
    // The trie costs a node per byte of every token: a cap keeps it a small multiple of the
    // vocabulary's size (the world vocabulary's longest token is 128 bytes).
    if (b.size() > kMaxRwkvTokenBytes)
      return InvalidArgument(named(id) + " is " + std::to_string(b.size()) +
                             " bytes long; tokens are at most " +
                             std::to_string(kMaxRwkvTokenBytes));
    if (b.empty()) {
      if (id == bos || id == eos || id == eot) continue;
      return InvalidArgument(named(id) + " is empty");
    }
    int32_t node = 0;
    for (unsigned char c : b) {
      int32_t next = t->Child(node, c);
      if (next < 0) {
        next = int32_t(t->trie_.size());
        t->trie_[size_t(node)].children.emplace_back(c, next);
        t->trie_.emplace_back();
      }
      node = next;
    }
    if (t->trie_[size_t(node)].value >= 0)
      return InvalidArgument(named(id) + " has the same bytes as token " +
                             std::to_string(t->trie_[size_t(node)].value));
    t->trie_[size_t(node)].value = id;
  }
  return t;
}

std::vector<int32_t> RwkvWorldTokenizer::Encode(std::string_view text, bool add_bos,
                                                bool add_eos) const {
  std::vector<int32_t> ids;
  if (add_bos && bos_ >= 0) ids.push_back(bos_);
  size_t pos = 0;
  while (pos < text.size()) {
    int32_t node = 0, best = -1;
    size_t best_end = pos + 1;
    for (size_t i = pos; i < text.size(); ++i) {
      node = Child(node, uint8_t(text[i]));
      if (node < 0) break;
      if (trie_[size_t(node)].value >= 0) {
        best = trie_[size_t(node)].value;
        best_end = i + 1;
      }
    }
    if (best >= 0) ids.push_back(best);
    pos = best_end;
  }
  if (add_eos && eos_ >= 0) ids.push_back(eos_);
  return ids;
}

std::string RwkvWorldTokenizer::TokenBytes(int32_t id) const {
  if (id < 0 || size_t(id) >= bytes_.size() || id == bos_ || id == eos_) return {};
  return bytes_[size_t(id)];
}

std::string RwkvWorldTokenizer::Decode(const std::vector<int32_t>& ids) const {
  std::string out;
  for (int32_t id : ids) out += TokenBytes(id);
  return out;
}

Result<std::unique_ptr<Tokenizer>> RwkvWorldTokenizerFromGguf(const GgufFile& gguf) {
  FLOE_ASSIGN_OR_RETURN(std::vector<std::string> tokens,
                        gguf.GetStringArray("tokenizer.ggml.tokens"));
  auto special = [&](const char* key) -> Result<int32_t> {
    if (!gguf.Find(key)) return int32_t(-1);
    FLOE_ASSIGN_OR_RETURN(uint64_t v, gguf.GetUint(key));
    if (v >= tokens.size())
      return CorruptData(std::string(key) + " = " + std::to_string(v) +
                         " is outside the vocabulary");
    return int32_t(v);
  };
  FLOE_ASSIGN_OR_RETURN(int32_t bos, special("tokenizer.ggml.bos_token_id"));
  FLOE_ASSIGN_OR_RETURN(int32_t eos, special("tokenizer.ggml.eos_token_id"));
  FLOE_ASSIGN_OR_RETURN(int32_t eot, special("tokenizer.ggml.eot_token_id"));
  FLOE_ASSIGN_OR_RETURN(auto t, RwkvWorldTokenizer::Create(tokens, bos, eos, eot));
  return std::unique_ptr<Tokenizer>(std::move(t));
}

}  // namespace floe
