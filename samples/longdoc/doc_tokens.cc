#include "doc_tokens.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "run_flags.h"

namespace floe::longdoc {

namespace {

bool Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// Candidate cuts that fail the check before a document is read whole instead.
constexpr int kMaxFailedCuts = 8;

}  // namespace

DocTokens::~DocTokens() {
  if (file_) std::fclose(file_);
}

bool DocTokens::TokenizeText(const std::string& text, bool bos, std::vector<floe_token>* out,
                             std::string* error) const {
  size_t n = 0;
  floe_status st = floe_tokenize(model_, text.data(), text.size(), bos, nullptr, 0, &n);
  if (st == FLOE_OK || st == FLOE_ERR_OUT_OF_RANGE) {
    out->resize(n);
    st = floe_tokenize(model_, text.data(), text.size(), bos, out->data(), n, &n);
  }
  if (st != FLOE_OK) {
    *error = std::string("tokenizing: ") + floe_model_last_error(model_);
    return false;
  }
  out->resize(n);
  return true;
}

bool DocTokens::Open(floe_model* model, const DocumentRef& ref, const CorpusOptions& corpus,
                     bool stream, std::string* error) {
  model_ = model;
  path_ = ref.path;
  if (!stream || ref.line != 0 || !ref.error.empty() || ref.size <= kPieceBytes) {
    if (!ReadDocument(ref, corpus, &text_, error)) return false;
    bytes_ = text_.size();
    return Tokenize(model, text_, &tokens_, error);
  }
  file_ = std::fopen(ref.path.c_str(), "rb");
  if (!file_) {
    *error = "cannot read '" + ref.path + "': " + std::strerror(errno);
    return false;
  }
  bytes_ = ref.size;
  return ReadPiece(error);
}

// Reads on until text_ holds a piece that ends at a checked cut (or the document's end), and
// tokenizes it into tokens_.
bool DocTokens::ReadPiece(std::string* error) {
  tokens_.clear();
  next_ = 0;
  auto fill = [&](size_t want) {
    char buf[1 << 16];
    while (!eof_ && text_.size() < want) {
      const size_t got = std::fread(buf, 1, std::min(sizeof buf, want - text_.size()), file_);
      text_.append(buf, got);
      if (got == 0) eof_ = true;
    }
    return !std::ferror(file_);
  };
  size_t cut = 0;
  int failed = 0;
  for (size_t from = kPieceBytes - 1;;) {
    if (!fill(from + 1 + kCheckBytes)) break;
    const size_t nl = text_.find('\n', from);
    if (nl == std::string::npos) {
      if (eof_) break;  // no line end left: the rest is one piece
      from = text_.size();
      if (!fill(text_.size() + kPieceBytes)) break;
      continue;
    }
    if (!fill(nl + 1 + kCheckBytes)) break;
    bool same = false;
    if (!CutKeepsTokens(nl + 1, &same, error)) return false;
    if (same) {
      cut = nl + 1;
      break;
    }
    if (++failed == kMaxFailedCuts) {  // this tokenizer cannot be cut: read it whole
      if (!fill(SIZE_MAX)) break;
      break;
    }
    from = nl + 1;
  }
  if (std::ferror(file_)) {
    *error = "reading '" + path_ + "': " + std::strerror(errno);
    return false;
  }
  if (cut == 0 || cut >= text_.size()) cut = text_.size();
  const std::string piece = text_.substr(0, cut);
  text_.erase(0, cut);
  const bool bos = first_piece_ && floe_model_bos(model_) >= 0;
  first_piece_ = false;
  return TokenizeText(piece, bos, &tokens_, error);
}

// *same: tokenizing the kCheckBytes either side of `cut` together gives the tokens of each side
// alone, one after the other.
bool DocTokens::CutKeepsTokens(size_t cut, bool* same, std::string* error) const {
  size_t a = cut > kCheckBytes ? cut - kCheckBytes : 0;
  while (a < cut && Continuation(text_[a])) ++a;
  size_t b = std::min(text_.size(), cut + kCheckBytes);
  if (b < text_.size())
    while (b > cut && Continuation(text_[b])) --b;
  std::vector<floe_token> left, right, both;
  if (!TokenizeText(text_.substr(a, cut - a), false, &left, error) ||
      !TokenizeText(text_.substr(cut, b - cut), false, &right, error) ||
      !TokenizeText(text_.substr(a, b - a), false, &both, error))
    return false;
  left.insert(left.end(), right.begin(), right.end());
  *same = left == both;
  return true;
}

bool DocTokens::Next(floe_token* token, std::string* error) {
  error->clear();
  while (next_ == tokens_.size()) {
    if (whole() || (eof_ && text_.empty())) return false;
    if (!ReadPiece(error)) return false;
  }
  *token = tokens_[next_++];
  return true;
}

std::string DocTokens::Text(uint64_t b0, uint64_t b1) const {
  b1 = std::min(b1, bytes_);
  b0 = std::min(b0, b1);
  if (whole()) return text_.substr(b0, b1 - b0);
  std::string out(b1 - b0, '\0');
  if (fseeko(file_, off_t(b0), SEEK_SET) != 0) return {};
  out.resize(std::fread(out.data(), 1, out.size(), file_));
  return out;
}

size_t ByteTracker::Decoded(const floe_token* t, size_t n) const {
  char buf[512];
  size_t len = 0;
  const floe_status st = floe_detokenize(model_, t, n, buf, sizeof buf, &len);
  return st == FLOE_OK || st == FLOE_ERR_OUT_OF_RANGE ? len : 0;
}

// Decoders drop a piece's leading space at the start of a sequence, so token p's own bytes are
// those of tokens [p-1, p] less those of token p-1.
void ByteTracker::Push(floe_token token) {
  size_t piece = 0;
  if (p_ == 0) {
    piece = Decoded(&token, 1);
  } else {
    const floe_token two[2] = {prev_, token};
    const size_t both = Decoded(two, 2), before = Decoded(&prev_, 1);
    piece = both > before ? both - before : 0;
  }
  if (p_ >= first_) at_ += piece;
  prev_ = token;
  ++p_;
}

}  // namespace floe::longdoc
