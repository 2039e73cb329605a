#include "platform/kernels/amx.h"

#include <atomic>
#include <cstdlib>

#if defined(__linux__) && defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace floe {

namespace {

std::atomic<bool> g_off{false};

bool RequestTileState() {
#if defined(__linux__) && defined(__x86_64__)
  if (const char* off = std::getenv("FLOE_NO_AMX"); off != nullptr && off[0] == '1') return false;
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
  const bool tile = (d >> 24) & 1, int8 = (d >> 25) & 1;
  if (!tile || !int8) return false;
  constexpr long kReqXcompPerm = 0x1023, kXfeatureTileData = 18;
  return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureTileData) == 0;
#else
  return false;
#endif
}

}  // namespace

bool AmxInt8Usable() {
  static const bool granted = RequestTileState();
  return granted && !g_off.load(std::memory_order_relaxed);
}

ScopedAmxOff::ScopedAmxOff() { g_off.store(true); }
ScopedAmxOff::~ScopedAmxOff() { g_off.store(false); }

}  // namespace floe
