#include "platform/kernels/bf16_dot.h"

#include <atomic>
#include <cstdlib>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace floe {

namespace {

std::atomic<int> g_forced{-1};  // -1: FLOE_BF16_DOT decides; 0 / 1: a ScopedBf16Dot

bool CpuHasAvx512Bf16() {
#if defined(__x86_64__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d) == 0) return false;
  return (a >> 5) & 1;  // CPUID.(EAX=7, ECX=1):EAX[5] AVX512_BF16
#else
  return false;
#endif
}

bool AskedByEnvironment() {
  const char* on = std::getenv("FLOE_BF16_DOT");
  return on != nullptr && on[0] == '1';
}

}  // namespace

bool Bf16DotUsable() {
  static const bool has = CpuHasAvx512Bf16();
  static const bool asked = AskedByEnvironment();
  const int forced = g_forced.load(std::memory_order_relaxed);
  return has && (forced < 0 ? asked : forced == 1);
}

ScopedBf16Dot::ScopedBf16Dot(bool on) { g_forced.store(on ? 1 : 0); }
ScopedBf16Dot::~ScopedBf16Dot() { g_forced.store(-1); }

}  // namespace floe
