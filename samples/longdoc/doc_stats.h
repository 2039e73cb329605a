// What floe longdoc score accumulates over one document, in constant memory (unless per-token
// values are asked for): the summed negative log-likelihood (nats) of the predicted tokens, and
// the k most surprising spans. A span is a block of span_tokens consecutive predicted positions
// (blocks aligned at position 1, 1 + L, 1 + 2L, ...; the last may be shorter), ranked by summed
// NLL; ties go to the earlier block; each carries its byte range in the document, so its text
// can be read back at the end without holding the document. Saved and restored exactly (as
// JSON, doubles round-trip).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace floe::longdoc {

struct Span {
  size_t first = 0, end = 0;    // predicted positions [first, end)
  double nll = 0;               // summed, nats
  uint64_t byte0 = 0, byte1 = 0;  // document bytes [byte0, byte1) of those tokens
};

class DocStats {
 public:
  DocStats(size_t top_spans, size_t span_tokens, bool per_token)
      : k_(top_spans), span_tokens_(span_tokens), per_token_(per_token) {}

  // The NLL of position p and the document offset of token p's first byte; positions come in
  // order 1, 2, ...
  void Add(size_t p, double nll, uint64_t byte);
  // Closes the last block; end_byte: the offset just past the last token.
  void Finish(uint64_t end_byte);

  double nll_sum() const { return nll_sum_; }
  size_t count() const { return count_; }
  // Best first.
  std::vector<Span> TopSpans() const;
  const std::vector<float>& token_nll() const { return token_nll_; }

  nlohmann::json Save() const;
  bool Load(const nlohmann::json& j);

 private:
  void Offer(const Span& s);

  size_t k_, span_tokens_;
  bool per_token_;
  double nll_sum_ = 0;
  size_t count_ = 0;
  Span block_;              // the block being summed (end = 0: none yet)
  Span closed_;             // a full block waiting for its end byte (end = 0: none)
  std::vector<Span> heap_;  // min-heap of the best k, by (nll, -first)
  std::vector<float> token_nll_;
};

}  // namespace floe::longdoc
