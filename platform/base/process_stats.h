// Process measurements shared by the benchmark programs (bench/) and `floe bench`: repeated-run
// statistics, wall-clock timing, and the process's peak resident set (Linux /proc).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace floe {

struct Stats {
  double median = 0, min = 0, max = 0;
};

// Median (mean of the two middle values for an even count), min and max; v must not be empty.
inline Stats Summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return {n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]), v.front(), v.back()};
}

inline double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A /proc/self/status field in bytes ("VmRSS:", "VmHWM:"); 0 when unavailable.
inline size_t StatusBytes(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(key);
  while (std::getline(f, line))
    if (line.compare(0, n, key) == 0) return std::strtoull(line.c_str() + n, nullptr, 10) * 1024;
  return 0;
}
inline size_t PeakRss() { return StatusBytes("VmHWM:"); }
// Makes the peak (VmHWM) restart from the current RSS; false where the kernel does not allow it.
inline bool ResetPeakRss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
  return bool(f);
}

}  // namespace floe
