// Helpers shared by the benchmark programs (bench/ and `floe bench`): repeated-run statistics,
// wall-clock timing, argument lists, and the process's peak resident set.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace floe::bench {

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

}  // namespace floe::bench
