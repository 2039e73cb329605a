// JsonValue: construction and checked accessors (the parser is in json_parser.cc).
#include "runtime/formats/checkpoint/json.h"

#include <string>

namespace floe {

JsonValue JsonValue::Bool(bool b) {
  JsonValue v;
  v.type_ = Type::kBool;
  v.bool_ = b;
  return v;
}
JsonValue JsonValue::Number(double d, bool has_int, int64_t exact_int) {
  JsonValue v;
  v.type_ = Type::kNumber;
  v.number_ = d;
  v.has_int_ = has_int;
  v.int_ = has_int ? exact_int : 0;
  return v;
}
JsonValue JsonValue::String(std::string s) {
  JsonValue v;
  v.type_ = Type::kString;
  v.payload_ = std::move(s);
  return v;
}
JsonValue JsonValue::Array(std::vector<JsonValue> items) {
  JsonValue v;
  v.type_ = Type::kArray;
  v.payload_ = std::move(items);
  return v;
}
JsonValue JsonValue::Object(std::vector<Member> members) {
  JsonValue v;
  v.type_ = Type::kObject;
  v.payload_ = std::move(members);
  return v;
}

const char* JsonValue::TypeName(Type t) {
  switch (t) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "a boolean";
    case Type::kNumber:
      return "a number";
    case Type::kString:
      return "a string";
    case Type::kArray:
      return "an array";
    case Type::kObject:
      return "an object";
  }
  return "?";
}

namespace {
Status WrongType(const char* expected, const char* got) {
  return InvalidArgument(std::string("expected ") + expected + ", got " + got);
}
Status WrongType(const char* expected, const JsonValue& v) {
  return WrongType(expected, JsonValue::TypeName(v.type()));
}
template <class T>
Result<T> Named(std::string_view key, Result<T> r) {
  if (r.ok()) return r;
  std::string msg = "'";
  msg.append(key).append("': ").append(r.status().message());
  return Status(r.status().code(), std::move(msg));
}
}  // namespace

Result<bool> JsonValue::AsBool() const {
  if (!is_bool()) return WrongType("a boolean", *this);
  return bool_;
}
Result<double> JsonValue::AsNumber() const {
  if (!is_number()) return WrongType("a number", *this);
  return number_;
}
Result<int64_t> JsonValue::AsInt() const {
  if (is_number() && !has_int_)
    return WrongType("an integer", "a non-integral number (or one beyond int64)");
  if (!is_int()) return WrongType("an integer", *this);
  return int_;
}
Result<std::string> JsonValue::AsString() const {
  if (!is_string()) return WrongType("a string", *this);
  return string_value();
}

const std::string& JsonValue::string_value() const {
  static const std::string kEmpty;
  const auto* s = std::get_if<std::string>(&payload_);
  return s ? *s : kEmpty;
}
const std::vector<JsonValue>& JsonValue::items() const {
  static const std::vector<JsonValue> kEmpty;
  const auto* v = std::get_if<std::vector<JsonValue>>(&payload_);
  return v ? *v : kEmpty;
}
const std::vector<JsonValue::Member>& JsonValue::members() const {
  static const std::vector<Member> kEmpty;
  const auto* v = std::get_if<std::vector<Member>>(&payload_);
  return v ? *v : kEmpty;
}

const JsonValue* JsonValue::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const Member& m : members())
    if (m.first == key) return &m.second;
  return nullptr;
}
Result<const JsonValue*> JsonValue::Get(std::string_view key) const {
  if (const JsonValue* v = Find(key)) return v;
  return NotFound("json key '" + std::string(key) + "' is missing");
}
Result<bool> JsonValue::GetBool(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const JsonValue* v, Get(key));
  return Named(key, v->AsBool());
}
Result<double> JsonValue::GetNumber(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const JsonValue* v, Get(key));
  return Named(key, v->AsNumber());
}
Result<int64_t> JsonValue::GetInt(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const JsonValue* v, Get(key));
  return Named(key, v->AsInt());
}
Result<std::string> JsonValue::GetString(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const JsonValue* v, Get(key));
  return Named(key, v->AsString());
}

}  // namespace floe
