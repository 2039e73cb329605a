#include "runtime/chat/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "runtime/chat/utf8_text.h"

namespace floe::jinja {

const Value* Dict::Find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Dict::Set(const std::string& key, Value v) {
  for (auto& [k, old] : items)
    if (k == key) {
      old = std::move(v);
      return;
    }
  items.emplace_back(key, std::move(v));
}

const Value* CallArgs::Get(size_t index, std::string_view name) const {
  for (const auto& [k, v] : kw)
    if (k == name) return &v;
  return index < pos.size() ? &pos[index] : nullptr;
}

Value Value::Undefined(std::string hint) {
  Value v;
  v.s_ = std::move(hint);
  return v;
}
Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}
Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}
Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  return v;
}
Value Value::Float(double d) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.f_ = d;
  return v;
}
Value Value::String(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.s_ = std::move(s);
  return v;
}
Value Value::MakeList(List items) {
  Value v;
  v.kind_ = Kind::kList;
  for (const Value& x : items) v.depth_ = std::max(v.depth_, x.depth_ + 1);
  if (items.empty()) v.depth_ = 1;
  v.list_ = std::make_shared<List>(std::move(items));
  return v;
}
Value Value::MakeTuple(List items) {
  Value v = MakeList(std::move(items));
  v.b_ = true;
  return v;
}
Value Value::MakeDict(Dict d) {
  Value v;
  v.kind_ = Kind::kDict;
  v.depth_ = 1;
  for (const auto& [k, x] : d.items) v.depth_ = std::max(v.depth_, x.depth_ + 1);
  v.dict_ = std::make_shared<Dict>(std::move(d));
  return v;
}
Value Value::Function(std::string name, std::function<Result<Value>(CallArgs&)> fn) {
  Value v;
  v.kind_ = Kind::kCallable;
  v.fn_ = std::make_shared<const Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

Value Value::FromJson(const JsonValue& j) {
  switch (j.type()) {
    case JsonValue::Type::kNull:
      return None();
    case JsonValue::Type::kBool:
      return Bool(j.bool_value());
    case JsonValue::Type::kNumber:
      return j.is_int() ? Int(j.int_value()) : Float(j.number_value());
    case JsonValue::Type::kString:
      return String(j.string_value());
    case JsonValue::Type::kArray: {
      List items;
      items.reserve(j.items().size());
      for (const JsonValue& x : j.items()) items.push_back(FromJson(x));
      return MakeList(std::move(items));
    }
    case JsonValue::Type::kObject: {
      Dict d;
      for (const auto& [k, x] : j.members()) d.items.emplace_back(k, FromJson(x));
      return MakeDict(std::move(d));
    }
  }
  return None();
}

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return b_;
    case Kind::kInt:
      return i_ != 0;
    case Kind::kFloat:
      return f_ != 0;
    case Kind::kString:
      return !s_.empty();
    case Kind::kList:
      return !list_->empty();
    case Kind::kDict:
      return !dict_->items.empty();
    case Kind::kCallable:
      return true;
  }
  return false;
}

const char* Value::TypeName() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "undefined";
    case Kind::kNone:
      return "NoneType";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float";
    case Kind::kString:
      return "str";
    case Kind::kList:
      return "list";
    case Kind::kDict:
      return dict_->is_namespace ? "Namespace" : "dict";
    case Kind::kCallable:
      return "function";
  }
  return "?";
}

std::string FloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // "-1.2345e+02": shortest round-trip digits
  const size_t e = sci.find('e');
  const int exp = std::atoi(sci.c_str() + e + 1);
  std::string digits;
  bool neg = false;
  for (size_t i = 0; i < e; ++i) {
    if (sci[i] == '-')
      neg = true;
    else if (sci[i] != '.')
      digits += sci[i];
  }
  std::string out = neg ? "-" : "";
  if (exp < -4 || exp >= 16) {  // Python's repr switches to exponent form here
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    return out + eb;
  }
  if (exp < 0) return out + "0." + std::string(size_t(-exp - 1), '0') + digits;
  const size_t int_digits = size_t(exp) + 1;
  if (digits.size() <= int_digits)
    return out + digits + std::string(int_digits - digits.size(), '0') + ".0";
  return out + digits.substr(0, int_digits) + "." + digits.substr(int_digits);
}

namespace {

std::string StrRepr(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char q = has_single && !has_double ? '"' : '\'';
  std::string out(1, q);
  for (uint32_t cp : DecodeUtf8(s)) {
    if (cp == uint32_t(q) || cp == '\\') {
      out += '\\';
      out += char(cp);
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) ||
               (cp >= 0xDC80 && cp <= 0xDCFF)) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", cp >= 0xDC80 ? cp - 0xDC00 : cp);
      out += b;
    } else {
      AppendUtf8(cp, &out);
    }
  }
  out += q;
  return out;
}

void JsonString(const std::string& s, std::string* out) {
  *out += '"';
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          *out += b;
        } else {
          *out += ch;
        }
    }
  }
  *out += '"';
}

}  // namespace

namespace {

void ReprInto(const Value& v, std::string* out, size_t cap) {
  if (out->size() > cap) return;
  switch (v.kind()) {
    case Value::Kind::kString:
      *out += StrRepr(v.str());
      return;
    case Value::Kind::kList: {
      *out += v.is_tuple() ? '(' : '[';
      for (size_t i = 0; i < v.list().size() && out->size() <= cap; ++i) {
        if (i) *out += ", ";
        ReprInto(v.list()[i], out, cap);
      }
      if (v.is_tuple() && v.list().size() == 1) *out += ',';
      *out += v.is_tuple() ? ')' : ']';
      return;
    }
    case Value::Kind::kDict: {
      const bool ns = v.dict().is_namespace;
      *out += ns ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, x] : v.dict().items) {
        if (out->size() > cap) break;
        if (!first) *out += ", ";
        first = false;
        *out += StrRepr(k) + ": ";
        ReprInto(x, out, cap);
      }
      *out += ns ? "}>" : "}";
      return;
    }
    default:
      *out += v.ToString(cap);
  }
}

}  // namespace

std::string Value::Repr(size_t cap) const {
  std::string out;
  ReprInto(*this, &out, cap);
  return out;
}

std::string Value::ToString(size_t cap) const {
  switch (kind_) {
    case Kind::kUndefined:
      return "";
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return b_ ? "True" : "False";
    case Kind::kInt:
      return std::to_string(i_);
    case Kind::kFloat:
      return FloatRepr(f_);
    case Kind::kString:
      return s_;
    case Kind::kList:
    case Kind::kDict:
      return Repr(cap);
    case Kind::kCallable:
      return "<function " + fn_->name + ">";
  }
  return "";
}

bool Equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.number() == b.number();
    return a.int_value() == b.int_value();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kString:
      return a.str() == b.str();
    case Value::Kind::kList: {
      if (a.list().size() != b.list().size() || a.is_tuple() != b.is_tuple()) return false;
      for (size_t i = 0; i < a.list().size(); ++i)
        if (!Equals(a.list()[i], b.list()[i])) return false;
      return true;
    }
    case Value::Kind::kDict: {
      if (a.dict().items.size() != b.dict().items.size()) return false;
      for (const auto& [k, v] : a.dict().items) {
        const Value* o = b.dict().Find(k);
        if (!o || !Equals(v, *o)) return false;
      }
      return true;
    }
    case Value::Kind::kCallable:
      return &a.callable() == &b.callable();
    default:
      return false;
  }
}

Result<bool> Less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.number() < b.number();
    return a.int_value() < b.int_value();
  }
  if (a.is_string() && b.is_string()) return a.str() < b.str();  // UTF-8 order = code points
  if (a.is_list() && b.is_list()) {
    const List& x = a.list();
    const List& y = b.list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (Equals(x[i], y[i])) continue;
      return Less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  return InvalidArgument(std::string("'<' not supported between instances of '") + a.TypeName() +
                         "' and '" + b.TypeName() + "'");
}

Result<bool> Contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;
    case Value::Kind::kString:
      if (!item.is_string())
        return InvalidArgument(std::string("'in <string>' requires string as left operand, not ") +
                               item.TypeName());
      return container.str().find(item.str()) != std::string::npos;
    case Value::Kind::kList:
      for (const Value& v : container.list())
        if (Equals(v, item)) return true;
      return false;
    case Value::Kind::kDict:
      return item.is_string() && container.dict().Find(item.str()) != nullptr;
    default:
      return InvalidArgument(std::string("argument of type '") + container.TypeName() +
                             "' is not iterable");
  }
}

Status ToJson(const Value& v, int indent, std::string* out, size_t cap, int depth) {
  if (depth > 256) return InvalidArgument("tojson: value nested too deeply");
  if (out->size() > cap) return InvalidArgument("tojson: output larger than the limit");
  auto newline = [&](int d) {
    if (indent < 0) return;
    *out += '\n';
    out->append(size_t(indent) * size_t(d), ' ');
  };
  switch (v.kind()) {
    case Value::Kind::kNone:
      *out += "null";
      return Status::Ok();
    case Value::Kind::kBool:
      *out += v.bool_value() ? "true" : "false";
      return Status::Ok();
    case Value::Kind::kInt:
      *out += std::to_string(v.int_value());
      return Status::Ok();
    case Value::Kind::kFloat: {
      const double d = v.number();
      *out += std::isnan(d)   ? "NaN"
              : std::isinf(d) ? (d < 0 ? "-Infinity" : "Infinity")
                              : FloatRepr(d);
      return Status::Ok();
    }
    case Value::Kind::kString:
      JsonString(v.str(), out);
      return Status::Ok();
    case Value::Kind::kList: {
      if (v.list().empty()) {
        *out += "[]";
        return Status::Ok();
      }
      *out += '[';
      bool first = true;
      for (const Value& x : v.list()) {
        if (!first) *out += indent < 0 ? ", " : ",";
        first = false;
        newline(depth + 1);
        FLOE_RETURN_IF_ERROR(ToJson(x, indent, out, cap, depth + 1));
      }
      newline(depth);
      *out += ']';
      return Status::Ok();
    }
    case Value::Kind::kDict: {
      if (v.dict().items.empty()) {
        *out += "{}";
        return Status::Ok();
      }
      *out += '{';
      bool first = true;
      for (const auto& [k, x] : v.dict().items) {
        if (!first) *out += indent < 0 ? ", " : ",";
        first = false;
        newline(depth + 1);
        JsonString(k, out);
        *out += ": ";
        FLOE_RETURN_IF_ERROR(ToJson(x, indent, out, cap, depth + 1));
      }
      newline(depth);
      *out += '}';
      return Status::Ok();
    }
    default:
      return InvalidArgument(std::string("tojson: Object of type ") + v.TypeName() +
                             " is not JSON serializable");
  }
}

}  // namespace floe::jinja
