#include "platform/base/log.h"

#include <cstdio>

namespace floe {

Logger::Logger()
    : sink_([](LogLevel level, const std::string& m) {
        static const char* kNames[] = {"debug", "info", "warn", "error", ""};
        std::fprintf(stderr, "floe %s: %s\n", kNames[static_cast<int>(level)], m.c_str());
      }) {}

}  // namespace floe
