// GGUF header, metadata and tensor table: parse, read every key with every typed getter, view
// every tensor, format the file as `floe inspect` does, and plan `floe quantize`'s types (tensor
// names, shapes and block_count as llama-quantize's rules read them).
#include <cstddef>
#include <cstdint>

#include "runtime/formats/gguf/gguf_inspect.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/tools/quantize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = floe::GgufFile::ParseBytes(data, size);
  if (!f.ok()) return 0;
  for (const auto& [key, value] : f->metadata()) {
    (void)f->GetUint(key);
    (void)f->GetInt(key);
    (void)f->GetFloat(key);
    (void)f->GetBool(key);
    (void)f->GetString(key);
    (void)f->GetStringArray(key);
    (void)f->GetFloatArray(key);
    (void)f->GetInt32Array(key);
  }
  for (const auto& t : f->tensors()) (void)f->GetTensorView(t.name);
  (void)floe::FormatGgufSummary(*f, 4);
  for (const char* scheme : {"q4_K_M", "q6_K", "q4_0"})
    (void)floe::PlanQuantizedTypes(*f, floe::ParseQuantizeScheme(scheme).value());
  return 0;
}
