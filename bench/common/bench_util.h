// Helpers shared by the benchmark programs: argument lists, and (under floe::bench) the process
// measurements of platform/base/process_stats.h.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "platform/base/process_stats.h"

namespace floe::bench {

using floe::PeakRss;
using floe::ResetPeakRss;
using floe::Seconds;
using floe::Stats;
using floe::StatusBytes;
using floe::Summarize;

// The value after `name` in argv, or fallback.
inline const char* Arg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], name)) return argv[i + 1];
  return fallback;
}

// "1024,16384" -> {1024, 16384}.
inline std::vector<size_t> List(const std::string& s) {
  std::vector<size_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::strtoull(item.c_str(), nullptr, 10));
  return out;
}

}  // namespace floe::bench
