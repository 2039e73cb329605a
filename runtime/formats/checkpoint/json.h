// A small strict JSON (RFC 8259) parser for safetensors headers and Hugging Face config files.
// Input is untrusted: every malformed document is a kCorruptData Status naming the byte offset;
// nesting is limited (JsonLimits, at most kMaxJsonDepth), so no input can exhaust the stack, and
// memory is linear in the input size and capped by JsonLimits::max_values. Strict means: no
// comments, no trailing commas, no NaN/Infinity, no leading zeros or '+', strings must be valid
// UTF-8 without raw control characters, \uXXXX escapes must pair surrogates correctly, object keys
// must be unique, nothing but whitespace may follow the top-level value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "platform/base/status.h"

namespace floe {

inline constexpr int kMaxJsonDepth = 128;  // arrays + objects nested deeper are rejected

// Bounds on what one document may build. Memory is at most ~100 bytes per value plus the text's
// strings, so max_values caps the allocation whatever the input (like GGUF's metadata budget).
struct JsonLimits {
  int max_depth = kMaxJsonDepth;        // clamped to kMaxJsonDepth (the parser recurses per level)
  size_t max_values = size_t(1) << 22;  // enough for large tokenizer.json files
};

class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  using Member = std::pair<std::string, JsonValue>;

  JsonValue() = default;
  static JsonValue Null() { return JsonValue(); }
  static JsonValue Bool(bool b);
  // `exact_int` is set when the number is integral and exactly representable as int64.
  static JsonValue Number(double d, bool has_int, int64_t exact_int);
  static JsonValue String(std::string s);
  static JsonValue Array(std::vector<JsonValue> items);
  static JsonValue Object(std::vector<Member> members);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  // True for numbers that are integral and fit int64 exactly ("3", "-7", "1.0", "2e3").
  bool is_int() const { return type_ == Type::kNumber && has_int_; }

  // Raw accessors: the empty value / 0 / false when the type does not match.
  bool bool_value() const { return bool_; }
  double number_value() const { return number_; }
  int64_t int_value() const { return int_; }
  const std::string& string_value() const;
  const std::vector<JsonValue>& items() const;  // arrays
  const std::vector<Member>& members() const;   // objects, in file order

  // Checked conversions: kInvalidArgument naming the expected type when it does not match.
  Result<bool> AsBool() const;
  Result<double> AsNumber() const;
  Result<int64_t> AsInt() const;
  Result<std::string> AsString() const;

  // Object member lookup: nullptr when this is not an object or the key is absent.
  const JsonValue* Find(std::string_view key) const;
  // kNotFound naming the key when absent (or this is not an object).
  Result<const JsonValue*> Get(std::string_view key) const;
  // Get(key) then the conversion; errors name the key ("'n_layer': expected an integer, got a
  // string").
  Result<bool> GetBool(std::string_view key) const;
  Result<double> GetNumber(std::string_view key) const;
  Result<int64_t> GetInt(std::string_view key) const;
  Result<std::string> GetString(std::string_view key) const;

  static const char* TypeName(Type t);

 private:
  Type type_ = Type::kNull;
  bool bool_ = false;
  bool has_int_ = false;
  double number_ = 0;
  int64_t int_ = 0;
  std::variant<std::monostate, std::string, std::vector<JsonValue>, std::vector<Member>> payload_;
};

// Parses one complete JSON document. Errors: kCorruptData "json: <what> at byte N" (also when
// a limit is exceeded).
Result<JsonValue> ParseJson(std::string_view text, const JsonLimits& limits = {});

}  // namespace floe
