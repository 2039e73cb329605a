// Streams one document through one session and hands out, position by position, the logits that
// predict each token: tokens[p] for p = 1, 2, ..., n-1 (tokens[0] is BOS when the model has one,
// else the document's first token, which nothing predicts).
//
// Carry (window 0): the whole document in one session; recurrent models and attention sessions
// whose context holds the document.
// Sliding (window W > 0, stride S < W), when a document is longer than the session's context:
// like llama-perplexity, windows start at 0, S, 2S, ...; the first window predicts positions
// 1..W-1, each later one the last S positions of its W, its first W-S tokens re-evaluated as
// context (one prefill chunk). Every position is predicted exactly once, with at least W-S
// tokens of context.
//
// Public API only (floe.h); every call returns false with a message instead of throwing.
#pragma once

#include <span>
#include <string>

#include "floe/floe.h"

namespace floe::longdoc {

// The first token of the window that predicts position p (window 0: carried, always 0).
size_t WindowStartOf(size_t p, size_t window, size_t stride);

class Runner {
 public:
  Runner(floe_session* session, std::span<const floe_token> tokens, size_t window, size_t stride)
      : s_(session), tokens_(tokens), window_(window), stride_(stride) {}

  // The logits predicting tokens[p] (vocab floats, valid until the next call). Calls must ask
  // for p, p+1, ... in order (any p >= 1 first, after Restore the restored next position).
  bool Logits(size_t p, const float** logits, std::string* error);

  // The first token the session holds now (0 in carry mode). Saved with a checkpoint.
  size_t base() const { return base_; }
  // Resumes a session restored from a state saved when the session held tokens [base, position).
  void Restored(size_t base) {
    base_ = base;
    started_ = true;
  }
  // The first token of the window that predicts position p.
  size_t WindowStart(size_t p) const;

 private:
  bool Eval(size_t from, size_t to, std::string* error);

  floe_session* s_;
  std::span<const floe_token> tokens_;
  size_t window_, stride_;
  size_t base_ = 0;
  bool started_ = false;
};

}  // namespace floe::longdoc
