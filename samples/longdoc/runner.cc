#include "runner.h"

namespace floe::longdoc {

size_t WindowStartOf(size_t p, size_t window, size_t stride) {
  if (window == 0 || p < window) return 0;
  return ((p - window) / stride + 1) * stride;
}

size_t Runner::WindowStart(size_t p) const { return WindowStartOf(p, window_, stride_); }

bool Runner::Eval(size_t from, size_t to, std::string* error) {
  if (to <= from) return true;
  const floe_status st = floe_session_eval(s_, tokens_.data() + from, to - from);
  if (st != FLOE_OK) {
    *error = std::string("evaluating tokens ") + std::to_string(from) + ".." + std::to_string(to) +
             ": " + floe_session_last_error(s_);
    return false;
  }
  return true;
}

bool Runner::Logits(size_t p, const float** logits, std::string* error) {
  if (p == 0 || p >= tokens_.size()) {
    *error = "position " + std::to_string(p) + " out of range";
    return false;
  }
  const size_t start = WindowStart(p);
  if (!started_ || start != base_) {
    // A new window (or the first): its context as one prefill chunk.
    floe_session_reset(s_);
    base_ = start;
    started_ = true;
    if (!Eval(start, p, error)) return false;
  } else {
    const size_t held = base_ + floe_session_position(s_);
    if (held > p) {
      *error = "position " + std::to_string(p) + " asked after " + std::to_string(held);
      return false;
    }
    if (!Eval(held, p, error)) return false;
  }
  *logits = floe_session_logits(s_);
  return *logits != nullptr;
}

}  // namespace floe::longdoc
