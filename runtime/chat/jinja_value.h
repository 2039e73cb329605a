// The value type of the chat-template renderer (a Jinja2 subset): undefined, none, bool, int,
// float, string, list, dict (insertion-ordered, string keys) and callable (builtin functions,
// bound methods, macros). Semantics follow Python as Jinja2 uses it: truthiness, equality across
// int/float/bool, str() and repr() text, json.dumps text. Lists and dicts are shared by reference
// (like Python objects); templates cannot mutate them except a namespace()'s attributes.
#pragma once

#include <cstdint>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/base/status.h"
#include "runtime/formats/checkpoint/json.h"

namespace floe::jinja {

class Value;
using List = std::vector<Value>;

struct Dict {
  std::vector<std::pair<std::string, Value>> items;  // insertion order
  bool is_namespace = false;                         // attributes may be assigned ({% set ns.x %})
  const Value* Find(std::string_view key) const;
  void Set(const std::string& key, Value v);
};

// Call arguments: positional, then keyword.
struct CallArgs {
  std::vector<Value> pos;
  std::vector<std::pair<std::string, Value>> kw;
  // The keyword `name`, else the positional at `index`, else nullptr.
  const Value* Get(size_t index, std::string_view name) const;
};

struct Callable {
  std::string name;
  std::function<Result<Value>(CallArgs&)> fn;
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kCallable };

  Value() = default;  // undefined
  static Value Undefined(std::string hint = {});
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double d);
  static Value String(std::string s);
  static Value MakeList(List items = {});
  // A tuple: a list that prints as Python's tuple ("(1, 2)", "(1,)") and is never equal to a list.
  static Value MakeTuple(List items);
  static Value MakeDict(Dict d = {});
  static Value Function(std::string name, std::function<Result<Value>(CallArgs&)> fn);
  // JSON -> Value: objects become dicts in document order; integral numbers become ints.
  static Value FromJson(const JsonValue& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || is_bool(); }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_tuple() const { return kind_ == Kind::kList && b_; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_callable() const { return kind_ == Kind::kCallable; }

  bool bool_value() const { return b_; }
  int64_t int_value() const { return is_bool() ? int64_t(b_) : i_; }
  double number() const { return is_float() ? f_ : double(int_value()); }
  const std::string& str() const { return s_; }  // strings; the name hint of undefined
  List& list() const { return *list_; }
  Dict& dict() const { return *dict_; }
  const Callable& callable() const { return *fn_; }
  // Nesting depth: 0 for scalars, 1 + the deepest element for lists and dicts (as built; a
  // namespace's later attributes are not counted). The evaluator bounds it so that printing and
  // comparing, which recurse, stay shallow.
  int depth() const { return depth_; }

  // Python truthiness; undefined is false.
  bool Truthy() const;
  // Python str(): None/True/False, repr() of containers, "" for undefined. Text past `cap`
  // bytes is cut (callers that bound sizes check the result's size against their cap).
  std::string ToString(size_t cap = SIZE_MAX) const;
  // Python repr() (strings quoted the way Python picks quotes), cut like ToString.
  std::string Repr(size_t cap = SIZE_MAX) const;
  // Python type name for error messages ("str", "int", "dict", "undefined").
  const char* TypeName() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  int depth_ = 0;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<const Callable> fn_;
};

// Python == (1 == 1.0 == True; containers element-wise; undefined equals only undefined).
bool Equals(const Value& a, const Value& b);
// Python <: numbers, strings (code point order), lists; other pairs are kInvalidArgument.
Result<bool> Less(const Value& a, const Value& b);
// Python `item in container`: substring, list membership, dict key; undefined -> false.
Result<bool> Contains(const Value& container, const Value& item);
// Python repr(float) ("1.0", "0.1", "1e+16", "inf", "nan").
std::string FloatRepr(double d);
// json.dumps(v, ensure_ascii=False, indent=indent) with Python's separators; indent < 0: none.
// Undefined and callables are kInvalidArgument (not JSON serializable).
// Output past `cap` bytes is kInvalidArgument.
Status ToJson(const Value& v, int indent, std::string* out, size_t cap = SIZE_MAX, int depth = 0);

}  // namespace floe::jinja
