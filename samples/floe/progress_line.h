// A one-line progress display for long operations (model loads, prompt prefills), on stderr:
//   "\rprefill 37% 1234 tok/s ETA 3s"
// Contract:
//   - enabled when the mode is kOn, or kAuto and the stream is a terminal (isatty); a disabled
//     line prints nothing and its callbacks are empty (so the runtime sees no observer at all and
//     works exactly as without one: a session prefills in one piece when it has no progress
//     callback);
//   - an operation prints nothing until it has run for over 1 s, then at most ~10 updates a
//     second, each when the runtime reports (the line moves as often as the runtime calls back);
//   - Finish() erases what was printed (spaces, then '\r'), so the next output starts on a clean
//     line; it is called by the destructor too.
// Not thread-safe: one operation at a time, reported from one thread (the runtime's callbacks
// run on the calling thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>

namespace floe::cli {

enum class ProgressMode { kAuto, kOn, kOff };

class ProgressLine {
 public:
  explicit ProgressLine(ProgressMode mode, std::FILE* out = stderr);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool enabled() const { return enabled_; }

  // Begins timing an operation of `total` units; the rate is shown as "<rate> <unit>/s". Ends an
  // operation still running. No-op when disabled.
  void Start(std::string what, double total, std::string unit);
  // `done` units of the current operation's total so far (total > 0 replaces it). Prints when due;
  // no-op when idle or disabled.
  void Update(double done, double total = 0);
  // Ends the current operation, erasing its line if one was printed. Idle afterwards.
  void Finish();

  // Callbacks for the runtime's observers. Empty functions when disabled. They report into the
  // operation begun by Start (and are no-ops while idle) and never cancel.
  //   LoadOptions::progress: a fraction in [0, 1] of the Start total.
  std::function<bool(float)> LoadCallback();
  //   SessionParams::progress: (tokens done, tokens total) of the current Eval.
  std::function<bool(size_t, size_t)> PrefillCallback();

 private:
  using Clock = std::chrono::steady_clock;
  void Print(double done, double secs);

  std::FILE* out_;
  bool enabled_ = false;
  bool active_ = false;
  std::string what_, unit_;
  double total_ = 0;
  Clock::time_point start_, last_print_;
  size_t printed_ = 0;  // characters of the line on screen (0: nothing printed)
};

}  // namespace floe::cli
