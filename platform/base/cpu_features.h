// What this CPU can do, and which Highway target the kernels dispatch to.
#pragma once

#include <string>

namespace floe {

struct CpuFeatures {
  bool sse4 = false, avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512_vnni = false,
       avx512_bf16 = false;
  std::string best_kernel_target;  // Highway target chosen at run time, e.g. "AVX3_DL"
  std::string compiled_targets;    // all Highway targets compiled into the kernels
};

CpuFeatures DetectCpuFeatures();
std::string DescribeCpu(const CpuFeatures& f);  // one line for logs / bench headers

}  // namespace floe
