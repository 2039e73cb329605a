// The chat-template renderer's builtins: filters and tests (jinja_filters.cc), attribute and
// item access with Python's string and dict methods (jinja_methods.cc). Every function returns
// an error value for a wrong type, never throws; results larger than the limits are errors.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "platform/base/status.h"
#include "runtime/chat/jinja_value.h"

namespace floe::jinja {

struct BuiltinLimits {
  size_t max_string_bytes = size_t(16) << 20;  // any one string built by a filter or method
  size_t max_items = size_t(1) << 20;          // any one list built by a filter or method
};

// `value | name(args)`. Unknown names are kInvalidArgument (the parser rejects them earlier).
Result<Value> ApplyFilter(std::string_view name, const Value& value, const CallArgs& args,
                          const BuiltinLimits& limits);
// `value is name(args)`.
Result<bool> ApplyTest(std::string_view name, const Value& value, const CallArgs& args);

// `obj.name` as jinja2 resolves it: a method of str/dict (bound), else a dict key, else
// undefined. Attribute access on undefined is an error (jinja2's default Undefined).
Result<Value> GetAttr(const Value& obj, const std::string& name, const BuiltinLimits& limits);
// `obj[key]`: dict key, list/string index (negative from the end); missing -> undefined.
Result<Value> GetItem(const Value& obj, const Value& key, const BuiltinLimits& limits);
// `obj[start:stop:step]` for lists and strings (Python semantics; null parts are undefined).
Result<Value> SliceOf(const Value& obj, const Value& start, const Value& stop, const Value& step);
// The items a for loop visits: list items, dict keys, string characters; undefined -> none.
Result<List> Iterate(const Value& v);

}  // namespace floe::jinja
