// Log sink hung off an explicit context (no global logger). Default: warnings and errors to
// stderr. A sink may be replaced (e.g. by the C API's log callback) or silenced.
#pragma once

#include <functional>
#include <string>

namespace floe {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kSilent = 4 };

class Logger {
 public:
  using Sink = std::function<void(LogLevel, const std::string&)>;
  Logger();  // stderr sink, minimum level kWarn
  void SetSink(Sink sink) { sink_ = std::move(sink); }
  void SetMinLevel(LogLevel level) { min_level_ = level; }
  void Log(LogLevel level, const std::string& message) const {
    if (level >= min_level_ && sink_) sink_(level, message);
  }

 private:
  Sink sink_;
  LogLevel min_level_ = LogLevel::kWarn;
};

}  // namespace floe
