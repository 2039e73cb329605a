// llama2.c checkpoints (legacy header and v1 "ak42"): the header, the exact file size, the
// tensors, and the GGUF layout convert writes from them.
#include <cstddef>
#include <cstdint>

#include "runtime/engine/network_loaders.h"
#include "runtime/formats/checkpoint/llama2c_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)floe::ParseLlama2cCheckpoint(data, size);
  (void)floe::ReadLlama2cAsGguf(data, size);
  (void)floe::LoadNetworkFromLlama2c(data, size);
  return 0;
}
