#include "platform/base/thread_context.h"

#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>

namespace floe {

int PhysicalCoreCount() {
  // Count distinct (physical id, core id) pairs; fall back to the logical count.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<int, int>> cores;
  int physical = 0;
  std::string line;
  while (std::getline(in, line)) {
    auto value = [&]() { return std::stoi(line.substr(line.find(':') + 1)); };
    try {
      if (line.rfind("physical id", 0) == 0) physical = value();
      if (line.rfind("core id", 0) == 0) cores.insert({physical, value()});
    } catch (...) {  // malformed /proc/cpuinfo: ignore the line
    }
  }
  if (!cores.empty()) return static_cast<int>(cores.size());
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

float* ThreadContext::Scratch(ScratchSlot slot, size_t n) {
  AlignedBuffer<float>& b = scratch_[size_t(slot)];
  if (b.size() < n && !b.Resize(n).ok()) return nullptr;
  return b.data();
}

ThreadContext::ThreadContext(int num_threads)
    : num_threads_(num_threads > 0 ? num_threads : PhysicalCoreCount()),
      arena_(std::make_unique<tbb::task_arena>(num_threads_)) {}

}  // namespace floe
