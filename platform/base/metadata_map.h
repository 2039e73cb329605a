// A MetadataView over values held in memory: for format readers whose headers are a few fixed
// fields (rwkv.cpp's n_vocab / n_embed / n_layer), for tests, and for random models.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "platform/base/metadata_view.h"

namespace floe {

class MetadataMap final : public MetadataView {
 public:
  using Value = std::variant<int64_t, double, bool, std::string, std::vector<int32_t>>;

  explicit MetadataMap(std::string source) : source_(std::move(source)) {}

  void Set(std::string key, Value v) { values_[std::move(key)] = std::move(v); }

  std::string_view source() const override { return source_; }
  bool Has(std::string_view key) const override { return values_.find(key) != values_.end(); }

  Result<uint64_t> GetUint(std::string_view key) const override {
    FLOE_ASSIGN_OR_RETURN(int64_t v, GetInt(key));
    if (v < 0) return InvalidArgument(Name(key) + " is negative");
    return uint64_t(v);
  }
  Result<int64_t> GetInt(std::string_view key) const override {
    FLOE_ASSIGN_OR_RETURN(const Value* v, Find(key));
    if (const int64_t* i = std::get_if<int64_t>(v)) return *i;
    return InvalidArgument(Name(key) + " is not an integer");
  }
  Result<double> GetFloat(std::string_view key) const override {
    FLOE_ASSIGN_OR_RETURN(const Value* v, Find(key));
    if (const double* d = std::get_if<double>(v)) return *d;
    if (const int64_t* i = std::get_if<int64_t>(v)) return double(*i);
    return InvalidArgument(Name(key) + " is not a number");
  }
  Result<bool> GetBool(std::string_view key) const override {
    FLOE_ASSIGN_OR_RETURN(const Value* v, Find(key));
    if (const bool* b = std::get_if<bool>(v)) return *b;
    if (const int64_t* i = std::get_if<int64_t>(v); i && (*i == 0 || *i == 1)) return *i == 1;
    return InvalidArgument(Name(key) + " is not a flag");
  }
  Result<std::string> GetString(std::string_view key) const override {
    FLOE_ASSIGN_OR_RETURN(const Value* v, Find(key));
    if (const std::string* s = std::get_if<std::string>(v)) return *s;
    return InvalidArgument(Name(key) + " is not a string");
  }
  Result<std::vector<int32_t>> GetInt32Array(std::string_view key) const override {
    FLOE_ASSIGN_OR_RETURN(const Value* v, Find(key));
    if (const auto* a = std::get_if<std::vector<int32_t>>(v)) return *a;
    return InvalidArgument(Name(key) + " is not an integer array");
  }

 private:
  std::string Name(std::string_view key) const {
    return source_ + " key '" + std::string(key) + "'";
  }
  Result<const Value*> Find(std::string_view key) const {
    auto it = values_.find(key);
    if (it == values_.end()) return NotFound(Name(key) + " is missing");
    return &it->second;
  }

  std::string source_;
  std::map<std::string, Value, std::less<>> values_;
};

}  // namespace floe
