#include "runtime/formats/checkpoint/json_metadata.h"

#include <limits>

namespace floe {

Result<JsonMetadata> JsonMetadata::Parse(std::string_view text, std::string source) {
  // A model config: tens of values. 2^18 bounds the parse at ~25 MB whatever the text
  // (docs/allocation-audit.md item 9); tokenizer JSON keeps the parser's larger default.
  JsonLimits limits;
  limits.max_values = kMaxConfigJsonValues;
  auto parsed = ParseJson(text, limits);
  if (!parsed.ok()) return Status(parsed.status()).WithContext(source);
  if (!parsed->is_object()) return InvalidArgument(source + ": top level is not an object");
  return JsonMetadata(std::move(parsed).value(), std::move(source));
}

// The key itself, or for a dotted key "a.b" absent at the top level, key b of the object a.
const JsonValue* JsonMetadata::Lookup(std::string_view key) const {
  if (const JsonValue* v = root_.Find(key)) return v;
  const JsonValue* v = &root_;
  while (v != nullptr) {
    if (!v->is_object()) return nullptr;
    const size_t dot = key.find('.');
    if (dot == std::string_view::npos) return v->Find(key);
    v = v->Find(key.substr(0, dot));
    key.remove_prefix(dot + 1);
  }
  return nullptr;
}

bool JsonMetadata::Has(std::string_view key) const {
  const JsonValue* v = Lookup(key);
  return v != nullptr && !v->is_null();
}

Status JsonMetadata::Bad(std::string_view key, const char* what) const {
  std::string msg = source_ + ": '";
  msg += key;
  msg += "' must be ";
  msg += what;
  return InvalidArgument(std::move(msg));
}

Result<const JsonValue*> JsonMetadata::Get(std::string_view key) const {
  const JsonValue* v = Lookup(key);
  if (v == nullptr || v->is_null()) {
    std::string msg = source_ + ": missing required key '";
    msg += key;
    msg += '\'';
    return NotFound(std::move(msg));
  }
  return v;
}

Result<uint64_t> JsonMetadata::GetUint(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const JsonValue* v, Get(key));
  if (!v->is_int() || v->int_value() < 0) return Bad(key, "a non-negative integer");
  return uint64_t(v->int_value());
}

Result<int64_t> JsonMetadata::GetInt(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const JsonValue* v, Get(key));
  if (!v->is_int()) return Bad(key, "an integer");
  return v->int_value();
}

Result<double> JsonMetadata::GetFloat(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const JsonValue* v, Get(key));
  if (!v->is_number()) return Bad(key, "a number");
  return v->number_value();
}

Result<bool> JsonMetadata::GetBool(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const JsonValue* v, Get(key));
  if (v->is_bool()) return v->bool_value();
  if (v->is_int() && (v->int_value() == 0 || v->int_value() == 1)) return v->int_value() == 1;
  return Bad(key, "true/false (or 0/1)");
}

Result<std::string> JsonMetadata::GetString(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const JsonValue* v, Get(key));
  if (!v->is_string()) return Bad(key, "a string");
  return v->string_value();
}

Result<std::vector<int32_t>> JsonMetadata::GetInt32Array(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const JsonValue* v, Get(key));
  if (!v->is_array()) return Bad(key, "an array");
  std::vector<int32_t> out;
  out.reserve(v->items().size());
  for (const JsonValue& item : v->items()) {
    if (item.is_bool())
      out.push_back(item.bool_value() ? 1 : 0);
    else if (item.is_int() && item.int_value() >= std::numeric_limits<int32_t>::min() &&
             item.int_value() <= std::numeric_limits<int32_t>::max())
      out.push_back(int32_t(item.int_value()));
    else
      return Bad(key, "an array of integers or booleans");
  }
  return out;
}

}  // namespace floe
