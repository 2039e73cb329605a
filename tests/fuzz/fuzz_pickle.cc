// The pickle virtual machine (protocol 2-5 opcodes torch.save uses), with torch's globals
// allowed, as the torch reader runs it.
#include <cstddef>
#include <cstdint>

#include "runtime/formats/checkpoint/pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto p = floe::ParsePickle(data, size, floe::TorchPickleGlobals());
  if (p.ok()) (void)p->root_value();
  return 0;
}
