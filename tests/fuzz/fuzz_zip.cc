// ZIP (torch.save's container): end record, central directory, local headers, and the bytes
// of every stored entry.
#include <cstddef>
#include <cstdint>

#include "runtime/formats/checkpoint/zip_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto zip = floe::ZipArchive::Open(data, size);
  if (!zip.ok()) return 0;
  for (const auto& e : zip->entries()) {
    auto view = zip->Read(e);
    if (view.ok() && view->size > 0) {
      volatile uint8_t first = view->data[0], last = view->data[view->size - 1];
      (void)first;
      (void)last;
    }
    (void)zip->Find(e.name);
  }
  return 0;
}
