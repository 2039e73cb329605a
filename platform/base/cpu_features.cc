#include "platform/base/cpu_features.h"

#include <hwy/targets.h>

namespace floe {

CpuFeatures DetectCpuFeatures() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.sse4 = __builtin_cpu_supports("sse4.2");
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512_vnni = __builtin_cpu_supports("avx512vnni");
  f.avx512_bf16 = __builtin_cpu_supports("avx512bf16");
  f.f16c = f.avx2;  // every AVX2 CPU we target has F16C
#endif
  const int64_t supported = hwy::SupportedTargets();
  int64_t best = 0;
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) {
    if (best == 0 || t < best) best = t;  // lower bit = better target in Highway's ordering
    if (!f.compiled_targets.empty()) f.compiled_targets += ",";
    f.compiled_targets += hwy::TargetName(t);
  }
  (void)supported;
  f.best_kernel_target = best ? hwy::TargetName(best) : "none";
  return f;
}

std::string DescribeCpu(const CpuFeatures& f) {
  std::string s = "kernels=" + f.best_kernel_target + " avx2=" + (f.avx2 ? "1" : "0") +
                  " avx512=" + (f.avx512f ? "1" : "0") + " vnni=" + (f.avx512_vnni ? "1" : "0") +
                  " bf16=" + (f.avx512_bf16 ? "1" : "0");
  return s;
}

}  // namespace floe
