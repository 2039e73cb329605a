// floe longdoc's progress report on stderr: documents and tokens done, tok/s, ETA (from the
// bytes of the documents left, at the byte rate so far).
//   live (a terminal, or --progress): one line rewritten in place at most ~5 times a second;
//   --progress-every S: a plain log line every S seconds (and one at the end), for log files;
//   otherwise (not a terminal, --no-progress): silent.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "progress_line.h"

namespace floe::longdoc {

class ScoreProgress {
 public:
  ScoreProgress(cli::ProgressMode mode, double every_seconds, size_t docs, uint64_t bytes,
                std::FILE* out = stderr);
  ~ScoreProgress();

  // A document of `bytes` bytes and `tokens` tokens begins.
  void StartDocument(uint64_t bytes, size_t tokens);
  // `done` of its tokens are done, `bytes_done` of its bytes (used for the fraction when its
  // token count is not known: a streamed document). Cheap: reads the clock every 256 calls.
  void Tokens(size_t done, uint64_t bytes_done = 0);
  // The document finished (or was skipped: counted, its bytes left out of the rate).
  void EndDocument(bool skipped = false);
  // Erases the live line; prints a final log line in log mode.
  void Finish();

 private:
  using Clock = std::chrono::steady_clock;
  void Report(bool final);

  std::FILE* out_;
  bool live_ = false;
  double every_ = 0;
  size_t docs_total_, docs_done_ = 0;
  uint64_t bytes_total_, bytes_done_ = 0, bytes_skipped_ = 0;
  uint64_t doc_bytes_ = 0;
  uint64_t doc_bytes_done_ = 0;
  size_t doc_tokens_ = 0, doc_done_ = 0;
  uint64_t tokens_done_ = 0;  // completed documents
  unsigned tick_ = 0;
  Clock::time_point start_, last_;
  size_t printed_ = 0;
  bool finished_ = false;
};

}  // namespace floe::longdoc
