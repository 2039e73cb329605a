// Intel AMX (Advanced Matrix Extensions) for the row-panel prefill (quant_panels-inl.h): whether
// this process may run tile instructions, and a test hook that turns them off. Linux hands out
// the 8 KiB of tile state per process only on request (arch_prctl ARCH_REQ_XCOMP_PERM); without
// it the first tile instruction raises SIGILL, so nothing may use AMX unless AmxInt8Usable().
// Granting it makes the kernel's signal frames about 8 KiB larger; a host program that runs
// signal handlers on a small alternate stack can set FLOE_NO_AMX=1 before the first model load.
#pragma once

namespace floe {

// True when the CPU has AMX-TILE and AMX-INT8, FLOE_NO_AMX is not "1", the kernel granted this
// process the tile state (requested on the first call) and no ScopedAmxOff is alive.
// Thread-safe.
bool AmxInt8Usable();

// For tests: while alive, AmxInt8Usable() is false, so the panel prefill takes its AVX-512 VNNI
// tiles (which compute the same bits). Process-wide; not nestable.
class ScopedAmxOff {
 public:
  ScopedAmxOff();
  ~ScopedAmxOff();
  ScopedAmxOff(const ScopedAmxOff&) = delete;
  ScopedAmxOff& operator=(const ScopedAmxOff&) = delete;
};

}  // namespace floe
