#include "progress_line.h"

#include <algorithm>
#include <cmath>
#include <unistd.h>

namespace floe::cli {

namespace {

constexpr double kQuietSeconds = 1.0;        // operations shorter than this print nothing
constexpr double kMinIntervalSeconds = 0.1;  // at most ~10 updates a second

std::string Rate(double per_second) {
  char buf[32];
  std::snprintf(buf, sizeof buf,
                per_second < 10    ? "%.2f"
                : per_second < 100 ? "%.1f"
                                   : "%.0f",
                per_second);
  return buf;
}

// "3s", "4m05s", "2h03m".
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

ProgressLine::ProgressLine(ProgressMode mode, std::FILE* out) : out_(out) {
  enabled_ = mode == ProgressMode::kOn || (mode == ProgressMode::kAuto && ::isatty(::fileno(out)));
}

ProgressLine::~ProgressLine() { Finish(); }

void ProgressLine::Start(std::string what, double total, std::string unit) {
  if (!enabled_) return;
  Finish();
  what_ = std::move(what);
  unit_ = std::move(unit);
  total_ = total;
  start_ = last_print_ = Clock::now();
  active_ = true;
}

void ProgressLine::Update(double done, double total) {
  if (!active_) return;
  if (total > 0) total_ = total;
  const Clock::time_point now = Clock::now();
  const double secs = std::chrono::duration<double>(now - start_).count();
  if (secs <= kQuietSeconds) return;
  if (printed_ > 0 &&
      std::chrono::duration<double>(now - last_print_).count() < kMinIntervalSeconds)
    return;
  last_print_ = now;
  Print(done, secs);
}

void ProgressLine::Print(double done, double secs) {
  std::string line = what_;
  if (total_ > 0) {
    char pct[16];
    std::snprintf(pct, sizeof pct, " %d%%", int(std::clamp(100.0 * done / total_, 0.0, 100.0)));
    line += pct;
  }
  const double rate = done / secs;
  if (rate > 0) {
    // Appended piecewise: GCC 12's -Wrestrict misfires on " " + std::string.
    line += ' ';
    line += Rate(rate);
    line += ' ';
    line += unit_;
    line += "/s";
    if (total_ > done) {
      line += " ETA ";
      line += Duration((total_ - done) / rate);
    }
  }
  // Pad over the rest of a longer previous line.
  const size_t width = line.size();
  if (line.size() < printed_) line.append(printed_ - line.size(), ' ');
  std::fprintf(out_, "\r%s", line.c_str());
  std::fflush(out_);
  printed_ = width;
}

void ProgressLine::Finish() {
  if (printed_ > 0) {
    std::fprintf(out_, "\r%s\r", std::string(printed_, ' ').c_str());
    std::fflush(out_);
  }
  printed_ = 0;
  active_ = false;
}

std::function<bool(float)> ProgressLine::LoadCallback() {
  if (!enabled_) return {};
  return [this](float fraction) {
    Update(double(fraction) * total_);
    return true;
  };
}

std::function<bool(size_t, size_t)> ProgressLine::PrefillCallback() {
  if (!enabled_) return {};
  return [this](size_t done, size_t total) {
    Update(double(done), double(total));
    return true;
  };
}

}  // namespace floe::cli
