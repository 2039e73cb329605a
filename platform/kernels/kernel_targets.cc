// Compiled once per Highway target (like ops.cc) so that DispatchedKernelTarget() reports what
// HWY_DYNAMIC_DISPATCH actually selects.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "platform/kernels/kernel_targets.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {
int64_t ThisTargetImpl() { return HWY_TARGET; }
}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "hwy/targets.h"
#include "platform/kernels/kernel_targets.h"

namespace floe {

HWY_EXPORT(ThisTargetImpl);

std::vector<int64_t> KernelTargets() {
  std::vector<int64_t> out;
  // Lowest bit = best target on every architecture Highway supports.
  for (int64_t bits = hwy::SupportedTargets() & HWY_TARGETS; bits != 0; bits &= bits - 1) {
    out.push_back(bits & -bits);
  }
  return out;
}

const char* KernelTargetName(int64_t target) { return hwy::TargetName(target); }

int64_t DispatchedKernelTarget() { return HWY_DYNAMIC_DISPATCH(ThisTargetImpl)(); }

ScopedKernelTarget::ScopedKernelTarget(int64_t target) {
  hwy::SetSupportedTargetsForTest(target);
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
}

ScopedKernelTarget::~ScopedKernelTarget() {
  hwy::SetSupportedTargetsForTest(0);
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
}

}  // namespace floe
#endif  // HWY_ONCE
