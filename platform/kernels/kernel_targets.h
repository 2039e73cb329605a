// Which Highway targets the kernels were compiled for and can run on this CPU, and a test hook
// that forces one of them. Production code never needs this: dispatch picks the best target.
#pragma once

#include <cstdint>
#include <vector>

namespace floe {

// Targets (HWY_* bits) compiled into the kernels AND supported by this CPU, best first.
// (Inside a ScopedKernelTarget it lists only the forced target.)
std::vector<int64_t> KernelTargets();

// "AVX3_DL", "AVX2", "SCALAR", ...
const char* KernelTargetName(int64_t target);

// The target the next kernel call will run on (honours ScopedKernelTarget).
int64_t DispatchedKernelTarget();

// For tests: while alive, every kernel dispatch in the process goes to `target` (one of
// KernelTargets()), via hwy::SetSupportedTargetsForTest; the destructor restores normal
// dispatch. Process-wide and not nestable: use it from one thread while no other thread runs
// kernels.
class ScopedKernelTarget {
 public:
  explicit ScopedKernelTarget(int64_t target);
  ~ScopedKernelTarget();
  ScopedKernelTarget(const ScopedKernelTarget&) = delete;
  ScopedKernelTarget& operator=(const ScopedKernelTarget&) = delete;
};

}  // namespace floe
