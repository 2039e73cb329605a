#include "progress.h"

#include <algorithm>
#include <cmath>

#include <unistd.h>

namespace floe::longdoc {

namespace {

std::string Duration(double secs) {
  const long s = std::lround(std::max(0.0, secs));
  char buf[32];
  if (s < 60)
    std::snprintf(buf, sizeof buf, "%lds", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  return buf;
}

}  // namespace

ScoreProgress::ScoreProgress(cli::ProgressMode mode, double every_seconds, size_t docs,
                             uint64_t bytes, std::FILE* out)
    : out_(out), every_(every_seconds), docs_total_(docs), bytes_total_(bytes) {
  live_ = mode == cli::ProgressMode::kOn ||
          (mode == cli::ProgressMode::kAuto && every_ <= 0 && ::isatty(::fileno(out)));
  if (mode == cli::ProgressMode::kOff) every_ = 0;
  start_ = last_ = Clock::now();
}

ScoreProgress::~ScoreProgress() { Finish(); }

void ScoreProgress::StartDocument(uint64_t bytes, size_t tokens) {
  doc_bytes_ = bytes;
  doc_tokens_ = tokens;
  doc_done_ = 0;
  doc_bytes_done_ = 0;
}

void ScoreProgress::Tokens(size_t done, uint64_t bytes_done) {
  doc_done_ = done;
  doc_bytes_done_ = bytes_done;
  if ((!live_ && every_ <= 0) || (++tick_ & 255) != 0) return;
  Report(false);
}

void ScoreProgress::EndDocument(bool skipped) {
  ++docs_done_;
  if (skipped) {
    bytes_skipped_ += doc_bytes_;
  } else {
    bytes_done_ += doc_bytes_;
    tokens_done_ += std::max(doc_tokens_, doc_done_);
  }
  doc_bytes_ = 0;
  doc_tokens_ = doc_done_ = 0;
  if (live_ || every_ > 0) Report(false);
}

void ScoreProgress::Report(bool final) {
  const Clock::time_point now = Clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  if (!final && since_last < (live_ ? 0.2 : every_)) return;
  last_ = now;
  const double secs = std::max(1e-9, std::chrono::duration<double>(now - start_).count());
  const double frac = doc_tokens_  ? double(doc_done_) / double(doc_tokens_)
                      : doc_bytes_ ? double(doc_bytes_done_) / double(doc_bytes_)
                                   : 0.0;
  const double bytes = double(bytes_done_) + frac * double(doc_bytes_);
  const double tokens = double(tokens_done_ + doc_done_);
  const double left = double(bytes_total_ - bytes_skipped_) - bytes;
  char buf[256];
  int n = std::snprintf(buf, sizeof buf, "longdoc: %zu/%zu documents, %.0f tokens, %.0f tok/s",
                        docs_done_, docs_total_, tokens, tokens / secs);
  if (bytes > 0 && !final && n > 0 && size_t(n) < sizeof buf)
    std::snprintf(buf + n, sizeof buf - size_t(n), ", ETA %s",
                  Duration(left / (bytes / secs)).c_str());
  const std::string line = buf;
  if (live_) {
    std::fprintf(out_, "\r%s", line.c_str());
    if (printed_ > line.size()) std::fprintf(out_, "%*s", int(printed_ - line.size()), "");
    printed_ = line.size();
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
}

void ScoreProgress::Finish() {
  if (finished_) return;
  finished_ = true;
  if (live_ && printed_ > 0) {
    std::fprintf(out_, "\r%*s\r", int(printed_), "");
    std::fflush(out_);
  } else if (!live_ && every_ > 0) {
    Report(true);
  }
}

}  // namespace floe::longdoc
