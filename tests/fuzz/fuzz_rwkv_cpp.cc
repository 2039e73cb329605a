// rwkv.cpp files: the header, every tensor header (name, dims, type) and its data range, then
// the RWKV-6 binder on the result.
#include <cstddef>
#include <cstdint>

#include "runtime/engine/network_loaders.h"
#include "runtime/formats/checkpoint/rwkv_cpp_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)floe::LooksLikeRwkvCppFile(data, size);
  (void)floe::ReadRwkvCppFile(data, size);
  (void)floe::LoadNetworkFromRwkvCpp(data, size);
  return 0;
}
