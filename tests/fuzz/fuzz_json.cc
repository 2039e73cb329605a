// The strict JSON parser (config.json, safetensors headers, chat messages), and the typed
// getters config readers use on its result.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/formats/checkpoint/json.h"
#include "runtime/formats/checkpoint/json_metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto v = floe::ParseJson(text);
  auto meta = floe::JsonMetadata::Parse(text);
  if (meta.ok()) {
    for (const char* key : {"hidden_size", "num_hidden_layers", "vocab_size", "rms_norm_eps",
                            "tie_word_embeddings", "model_type", "linear_use_lrpe_list"}) {
      (void)meta->Has(key);
      (void)meta->GetUint(key);
      (void)meta->GetInt(key);
      (void)meta->GetFloat(key);
      (void)meta->GetBool(key);
      (void)meta->GetString(key);
      (void)meta->GetInt32Array(key);
    }
  }
  return 0;
}
