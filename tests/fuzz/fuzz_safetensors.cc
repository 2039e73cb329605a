// safetensors: the u64 header length, the JSON header, and every tensor's dtype, shape and
// data range against the bytes present.
#include <cstddef>
#include <cstdint>

#include "runtime/formats/checkpoint/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto set = floe::ReadSafetensors(data, size);
  if (set.ok()) set->Index();
  return 0;
}
