// A torch.save checkpoint (zip + data.pkl + storages): the state dict's tensors, their
// storages, offsets, sizes and strides.
#include <cstddef>
#include <cstdint>

#include "runtime/formats/checkpoint/torch_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto set = floe::ReadTorchCheckpoint(data, size);
  if (set.ok()) set->Index();
  return 0;
}
