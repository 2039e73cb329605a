// A format-neutral view of a model file's hyperparameters: what an architecture (models/<arch>)
// reads its config from, whatever file they came in. runtime/formats implements it over GGUF
// metadata (llama.cpp's keys, e.g. "llama.block_count") and over a Hugging Face config.json
// ("decoder_layers"); the architecture knows which key names its files use.
//
// Contract of every getter: kNotFound naming the key when it is absent (a JSON null counts as
// absent), kInvalidArgument naming the key when the stored value has another type or does not
// fit the getter's range. Flags: GetBool also accepts the integers 0 and 1 (Hugging Face configs
// write flags both ways); GetInt32Array accepts booleans as 0/1 for the same reason.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/status.h"

namespace floe {

class MetadataView {
 public:
  virtual ~MetadataView() = default;

  // "GGUF", "config.json": prefixed to errors by callers that want to say where a key was.
  virtual std::string_view source() const = 0;
  virtual bool Has(std::string_view key) const = 0;
  virtual Result<uint64_t> GetUint(std::string_view key) const = 0;  // integers >= 0
  virtual Result<int64_t> GetInt(std::string_view key) const = 0;
  virtual Result<double> GetFloat(std::string_view key) const = 0;  // floats or integers
  virtual Result<bool> GetBool(std::string_view key) const = 0;
  virtual Result<std::string> GetString(std::string_view key) const = 0;
  virtual Result<std::vector<int32_t>> GetInt32Array(std::string_view key) const = 0;
};

}  // namespace floe
