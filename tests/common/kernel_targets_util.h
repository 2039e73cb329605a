// Test helper: run a check once per Highway target the kernels were compiled for and this CPU
// supports, with dispatch forced to it.
#pragma once

#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include "platform/kernels/kernel_targets.h"

namespace floe {

template <class Fn>
void ForEachTarget(Fn&& fn) {
  const std::vector<int64_t> targets = KernelTargets();
  REQUIRE(!targets.empty());
  for (const int64_t t : targets) {
    ScopedKernelTarget scoped(t);
    INFO("target " << KernelTargetName(t));
    REQUIRE(DispatchedKernelTarget() == t);
    fn();
  }
}

}  // namespace floe
