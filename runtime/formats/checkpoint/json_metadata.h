// A Hugging Face config.json as a MetadataView (platform/base/metadata_view.h): the keys of its
// top-level object. A null value counts as absent; flags may be booleans or 0/1, as the
// official configs write them both ways. A dotted key "a.b" that the top level does not hold
// names key b of the nested object a (Mamba's "ssm_cfg.d_state").
#pragma once

#include <string>
#include <string_view>

#include "platform/base/metadata_view.h"
#include "runtime/formats/checkpoint/json.h"

namespace floe {

// JSON values in a config document (Parse); more is an error, not an allocation.
inline constexpr size_t kMaxConfigJsonValues = size_t(1) << 18;

class JsonMetadata final : public MetadataView {
 public:
  // Parses `text`; the parser's error naming `source` for malformed JSON, kInvalidArgument for
  // a top level that is not an object.
  static Result<JsonMetadata> Parse(std::string_view text, std::string source = "config.json");

  std::string_view source() const override { return source_; }
  bool Has(std::string_view key) const override;
  Result<uint64_t> GetUint(std::string_view key) const override;
  Result<int64_t> GetInt(std::string_view key) const override;
  Result<double> GetFloat(std::string_view key) const override;
  Result<bool> GetBool(std::string_view key) const override;
  Result<std::string> GetString(std::string_view key) const override;
  Result<std::vector<int32_t>> GetInt32Array(std::string_view key) const override;

 private:
  JsonMetadata(JsonValue root, std::string source)
      : root_(std::move(root)), source_(std::move(source)) {}
  Result<const JsonValue*> Get(std::string_view key) const;
  const JsonValue* Lookup(std::string_view key) const;
  Status Bad(std::string_view key, const char* what) const;

  JsonValue root_;
  std::string source_;
};

}  // namespace floe
