// Locates ../shared/data. Tests that need it fail loudly (never skip) when it is missing.
#pragma once

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

namespace floe::testing {

inline std::string DataPath(const std::string& relative) {
  const std::filesystem::path p = std::filesystem::path(FLOE_SHARED_DATA_DIR) / relative;
  if (!std::filesystem::exists(p)) {
    FAIL("test data missing: " << p.string()
                               << " (tests read ../shared/data beside the repository; see README)");
  }
  return p.string();
}

}  // namespace floe::testing
