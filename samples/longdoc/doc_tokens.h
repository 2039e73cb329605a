// A document's tokens, in order, for floe longdoc score, in one of two ways:
//  - whole: the text read at once and tokenized at once (JSONL records, documents that may have
//    to slide, and every document whose tokenizer cannot be cut safely);
//  - streamed: a file read and tokenized in pieces of about kPieceBytes (16 KiB), so memory does not grow
//    with the document (used when the session carries any length: recurrent models).
// A streamed document is cut only after a line end where tokenizing across the cut gives the
// same tokens as tokenizing each side alone (checked on the kCheckBytes either side, without
// BOS). Tokenizers that add something at the start of every text (SentencePiece's dummy prefix)
// never pass that check, so their documents are read whole, exactly as before. For the others,
// whose tokens do not reach across line ends, the streamed tokens equal the whole document's.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "documents.h"
#include "floe/floe.h"

namespace floe::longdoc {

class DocTokens {
 public:
  static constexpr size_t kPieceBytes = size_t(16) << 10;
  static constexpr size_t kCheckBytes = 256;

  DocTokens() = default;
  DocTokens(const DocTokens&) = delete;
  DocTokens& operator=(const DocTokens&) = delete;
  ~DocTokens();

  // Opens `ref`. stream: read a whole-file document in pieces (JSONL records are always whole).
  bool Open(floe_model* model, const DocumentRef& ref, const CorpusOptions& corpus, bool stream,
            std::string* error);

  // The next token (the first is BOS when the model has one). False at the end, or on an error
  // (*error non-empty).
  bool Next(floe_token* token, std::string* error);

  bool whole() const { return file_ == nullptr; }
  // Whole documents: every token and the text.
  const std::vector<floe_token>& tokens() const { return tokens_; }
  uint64_t bytes() const { return bytes_; }
  // Document bytes [b0, b1) (clamped to the document).
  std::string Text(uint64_t b0, uint64_t b1) const;

 private:
  bool ReadPiece(std::string* error);
  bool CutKeepsTokens(size_t cut, bool* same, std::string* error) const;
  bool TokenizeText(const std::string& text, bool bos, std::vector<floe_token>* out,
                    std::string* error) const;

  floe_model* model_ = nullptr;
  std::FILE* file_ = nullptr;  // streamed: the open document
  std::string path_;
  uint64_t bytes_ = 0;
  std::string text_;                // whole: the text; streamed: bytes read but not yet cut
  bool eof_ = false, first_piece_ = true;
  std::vector<floe_token> tokens_;  // whole: all; streamed: the current piece's
  size_t next_ = 0;                 // index into tokens_
};

// Byte offsets of tokens in the text they decode to, one token at a time: Offset() before
// Push(token p) is where token p starts, counted from the token at `first` (after a BOS, which
// decodes to nothing). For tokenizers that decode a document back to its bytes these are offsets
// into the document.
class ByteTracker {
 public:
  ByteTracker(floe_model* model, size_t first) : model_(model), first_(first) {}
  void Push(floe_token token);
  uint64_t Offset() const { return at_; }

 private:
  size_t Decoded(const floe_token* t, size_t n) const;
  floe_model* model_;
  size_t first_, p_ = 0;
  floe_token prev_ = 0;
  uint64_t at_ = 0;
};

}  // namespace floe::longdoc
