// A test that cannot check a capability on this machine or in this build must not pass as if it
// had checked it (issue 29 item 5). It calls FLOE_SKIP_CAPABILITY(name, why): the test FAILS
// unless the environment variable FLOE_TEST_ALLOW_SKIP names the capability (a comma-separated
// list, or "all"); an allowed skip prints "floe test: skipped NAME: WHY" and appends that line to
// the file $FLOE_TEST_SKIP_LOG when it is set, so the test script can list what it skipped.
// Script tests do the same through tests/common/skip.sh.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include <catch2/catch.hpp>

namespace floe::testing {

// True when FLOE_TEST_ALLOW_SKIP lists `name` (or "all"); then the skip is also logged.
inline bool SkipAllowed(std::string_view name, const std::string& why) {
  const char* allow = std::getenv("FLOE_TEST_ALLOW_SKIP");
  bool allowed = false;
  if (allow != nullptr) {
    std::string_view list(allow);
    while (!list.empty() && !allowed) {
      const size_t comma = list.find(',');
      const std::string_view item = list.substr(0, comma);
      allowed = item == name || item == "all";
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
  }
  if (!allowed) return false;
  const std::string line = "floe test: skipped " + std::string(name) + ": " + why;
  std::fprintf(stderr, "%s\n", line.c_str());
  if (const char* log = std::getenv("FLOE_TEST_SKIP_LOG"); log != nullptr && *log != '\0') {
    std::ofstream(log, std::ios::app) << line << '\n';
  }
  return true;
}

}  // namespace floe::testing

// Ends the current test case: a pass when the skip is allowed (and logged), a failure otherwise.
#define FLOE_SKIP_CAPABILITY(name, why)                                                        \
  do {                                                                                         \
    const std::string floe_skip_why_ = (why);                                                  \
    if (!::floe::testing::SkipAllowed((name), floe_skip_why_)) {                               \
      FAIL("cannot check " << (name) << " here: " << floe_skip_why_                            \
                           << " (set FLOE_TEST_ALLOW_SKIP=" << (name) << " to accept)");       \
    }                                                                                          \
    return;                                                                                    \
  } while (false)
