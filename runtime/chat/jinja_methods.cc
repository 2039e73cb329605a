// Attribute and item access, slicing, iteration, and the str / dict methods templates call.
#include <algorithm>

#include "runtime/chat/jinja_builtins.h"
#include "runtime/chat/utf8_text.h"

namespace floe::jinja {

namespace {

Status TypeError(const std::string& what) { return InvalidArgument(what); }

Result<std::string> StrArg(const CallArgs& a, size_t i, const char* name, const char* method) {
  const Value* v = a.Get(i, name);
  if (!v || !v->is_string())
    return TypeError(std::string(method) + "() argument '" + name + "' must be a string");
  return v->str();
}

// Python str.split(sep, maxsplit).
List Split(const std::string& s, const Value* sep, int64_t maxsplit) {
  List out;
  if (!sep || sep->is_none()) {
    std::vector<uint32_t> cps = DecodeUtf8(s);
    size_t i = 0;
    while (true) {
      while (i < cps.size() && IsSpaceCp(cps[i])) ++i;
      if (i >= cps.size()) break;
      if (maxsplit >= 0 && int64_t(out.size()) == maxsplit) {
        size_t e = cps.size();
        while (e > i && IsSpaceCp(cps[e - 1])) --e;
        out.push_back(Value::String(EncodeUtf8({cps.begin() + long(i), cps.begin() + long(e)})));
        break;
      }
      size_t j = i;
      while (j < cps.size() && !IsSpaceCp(cps[j])) ++j;
      out.push_back(Value::String(EncodeUtf8({cps.begin() + long(i), cps.begin() + long(j)})));
      i = j;
    }
    return out;
  }
  const std::string& d = sep->str();
  size_t start = 0;
  while (maxsplit < 0 || int64_t(out.size()) < maxsplit) {
    const size_t p = s.find(d, start);
    if (p == std::string::npos) break;
    out.push_back(Value::String(s.substr(start, p - start)));
    start = p + d.size();
  }
  out.push_back(Value::String(s.substr(start)));
  return out;
}

Result<bool> AffixMatch(const std::string& s, const Value* arg, bool prefix, const char* method) {
  if (!arg) return TypeError(std::string(method) + "() takes at least 1 argument");
  auto one = [&](const Value& x) -> Result<bool> {
    if (!x.is_string()) return TypeError(std::string(method) + "() argument must be str or tuple");
    const std::string& a = x.str();
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0
                  : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (arg->is_list()) {
    for (const Value& x : arg->list()) {
      FLOE_ASSIGN_OR_RETURN(bool m, one(x));
      if (m) return true;
    }
    return false;
  }
  return one(*arg);
}

Result<std::string> Replace(const std::string& s, const std::string& from, const std::string& to,
                            int64_t count, size_t max_bytes) {
  std::string out;
  if (from.empty()) {  // Python inserts `to` between code points and at both ends
    const std::vector<uint32_t> cps = DecodeUtf8(s);
    if ((cps.size() + 1) * to.size() + s.size() > max_bytes)
      return InvalidArgument("replace: result larger than the limit");
    int64_t n = 0;
    for (uint32_t cp : cps) {
      if (count < 0 || n++ < count) out += to;
      AppendUtf8(cp, &out);
    }
    if (count < 0 || n < count) out += to;
    return out;
  }
  size_t start = 0;
  int64_t n = 0;
  while (count < 0 || n < count) {
    const size_t p = s.find(from, start);
    if (p == std::string::npos) break;
    out.append(s, start, p - start);
    out += to;
    if (out.size() > max_bytes) return InvalidArgument("replace: result larger than the limit");
    start = p + from.size();
    ++n;
  }
  out.append(s, start, std::string::npos);
  if (out.size() > max_bytes) return InvalidArgument("replace: result larger than the limit");
  return out;
}

// Python str.format with positional "{}" / "{0}" and keyword "{name}" fields (no format specs).
Result<std::string> Format(const std::string& f, const CallArgs& a, size_t max_bytes) {
  std::string out;
  size_t auto_index = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '{' && i + 1 < f.size() && f[i + 1] == '{') {
      out += '{';
      ++i;
    } else if (f[i] == '}' && i + 1 < f.size() && f[i + 1] == '}') {
      out += '}';
      ++i;
    } else if (f[i] == '{') {
      const size_t e = f.find('}', i);
      if (e == std::string::npos) return InvalidArgument("format: single '{' in the format string");
      const std::string field = f.substr(i + 1, e - i - 1);
      const Value* v = nullptr;
      if (field.empty()) {
        v = auto_index < a.pos.size() ? &a.pos[auto_index] : nullptr;
        ++auto_index;
      } else if (std::all_of(field.begin(), field.end(),
                             [](char c) { return c >= '0' && c <= '9'; })) {
        const size_t k = size_t(std::stoul(field.substr(0, 9)));
        v = k < a.pos.size() ? &a.pos[k] : nullptr;
      } else {
        for (const auto& [k, x] : a.kw)
          if (k == field) v = &x;
      }
      if (!v) return InvalidArgument("format: no argument for field '{" + field + "}'");
      out += v->ToString(max_bytes);
      i = e;
    } else {
      out += f[i];
    }
    if (out.size() > max_bytes) return InvalidArgument("format: result larger than the limit");
  }
  return out;
}

Result<Value> StringMethod(const std::string& s, const std::string& name, const CallArgs& a,
                           const BuiltinLimits& limits) {
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const Value* chars = a.Get(0, "chars");
    std::string set;
    if (chars && chars->is_string()) set = chars->str();
    const bool has = chars && chars->is_string();
    return Value::String(Strip(s, has ? &set : nullptr, name != "rstrip", name != "lstrip"));
  }
  if (name == "upper") return Value::String(Upper(s));
  if (name == "lower") return Value::String(Lower(s));
  if (name == "title") return Value::String(PyTitle(s));
  if (name == "capitalize") return Value::String(Capitalize(s));
  if (name == "split") {
    const Value* m = a.Get(1, "maxsplit");
    const Value* sep = a.Get(0, "sep");
    if (sep && !sep->is_none() && (!sep->is_string() || sep->str().empty()))
      return TypeError("split(): separator must be a non-empty string");
    return Value::MakeList(Split(s, sep, m && m->is_int() ? m->int_value() : -1));
  }
  if (name == "startswith" || name == "endswith") {
    FLOE_ASSIGN_OR_RETURN(bool r,
                          AffixMatch(s, a.Get(0, "prefix"), name == "startswith", name.c_str()));
    return Value::Bool(r);
  }
  if (name == "replace") {
    FLOE_ASSIGN_OR_RETURN(std::string from, StrArg(a, 0, "old", "replace"));
    FLOE_ASSIGN_OR_RETURN(std::string to, StrArg(a, 1, "new", "replace"));
    const Value* c = a.Get(2, "count");
    FLOE_ASSIGN_OR_RETURN(
        std::string r,
        Replace(s, from, to, c && c->is_int() ? c->int_value() : -1, limits.max_string_bytes));
    return Value::String(std::move(r));
  }
  if (name == "count" || name == "find") {
    FLOE_ASSIGN_OR_RETURN(std::string sub, StrArg(a, 0, "sub", name.c_str()));
    if (name == "find") {
      const size_t p = s.find(sub);
      return Value::Int(p == std::string::npos ? -1 : int64_t(CountCodePoints(s.substr(0, p))));
    }
    if (sub.empty()) return Value::Int(int64_t(CountCodePoints(s)) + 1);
    int64_t n = 0;
    for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
    return Value::Int(n);
  }
  if (name == "join") {
    const Value* it = a.Get(0, "iterable");
    if (!it) return TypeError("join() takes exactly one argument");
    FLOE_ASSIGN_OR_RETURN(List items, Iterate(*it));
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) return TypeError("join(): sequence item is not a string");
      if (i) out += s;
      out += items[i].str();
      if (out.size() > limits.max_string_bytes)
        return InvalidArgument("join: result larger than the limit");
    }
    return Value::String(std::move(out));
  }
  if (name == "format") {
    FLOE_ASSIGN_OR_RETURN(std::string r, Format(s, a, limits.max_string_bytes));
    return Value::String(std::move(r));
  }
  if (name == "isdigit" || name == "isalpha" || name == "isspace" || name == "islower" ||
      name == "isupper") {
    const std::vector<uint32_t> cps = DecodeUtf8(s);
    bool r = !cps.empty();
    for (uint32_t c : cps) {
      if (name == "isdigit")
        r = r && c >= '0' && c <= '9';
      else if (name == "isalpha")
        r = r && IsAlnumCp(c) && !(c >= '0' && c <= '9');
      else if (name == "isspace")
        r = r && IsSpaceCp(c);
      else if (name == "islower")
        r = r && ToUpperCp(c) == c ? (r && !IsCasedLetter(c)) : r;
      else
        r = r && (ToLowerCp(c) == c ? !IsCasedLetter(c) : true);
    }
    return Value::Bool(r);
  }
  return TypeError("'str' object has no attribute '" + name + "'");
}

bool IsStringMethod(const std::string& n) {
  static const char* kNames[] = {"strip",   "lstrip",     "rstrip",  "upper",      "lower",
                                 "title",   "capitalize", "split",   "startswith", "endswith",
                                 "replace", "count",      "find",    "join",       "format",
                                 "isdigit", "isalpha",    "isspace", "islower",    "isupper"};
  for (const char* k : kNames)
    if (n == k) return true;
  return false;
}

Result<Value> DictMethod(const Value& d, const std::string& name, const CallArgs& a) {
  if (name == "get") {
    const Value* k = a.Get(0, "key");
    if (!k) return TypeError("get expected at least 1 argument, got 0");
    const Value* def = a.Get(1, "default");
    const Value* v = k->is_string() ? d.dict().Find(k->str()) : nullptr;
    if (v) return *v;
    return def ? *def : Value::None();
  }
  List out;
  for (const auto& [k, v] : d.dict().items) {
    if (name == "keys")
      out.push_back(Value::String(k));
    else if (name == "values")
      out.push_back(v);
    else
      out.push_back(Value::MakeTuple({Value::String(k), v}));
  }
  return Value::MakeList(std::move(out));
}

// Python index normalisation for slices.
int64_t SliceIndex(const Value& v, int64_t def, int64_t len, int64_t step) {
  if (v.is_undefined() || v.is_none()) return def;
  int64_t i = v.int_value();
  if (i < 0) i += len;
  if (step > 0) return std::clamp<int64_t>(i, 0, len);
  return std::clamp<int64_t>(i, -1, len - 1);
}

}  // namespace

Result<Value> GetAttr(const Value& obj, const std::string& name, const BuiltinLimits& limits) {
  switch (obj.kind()) {
    case Value::Kind::kUndefined:
      return InvalidArgument((obj.str().empty() ? std::string("value") : "'" + obj.str() + "'") +
                             " is undefined (reading its attribute '" + name + "')");
    case Value::Kind::kString:
      if (IsStringMethod(name)) {
        const std::string s = obj.str();
        const BuiltinLimits l = limits;
        return Value::Function("str." + name,
                               [s, name, l](CallArgs& a) { return StringMethod(s, name, a, l); });
      }
      return Value::Undefined(name);
    case Value::Kind::kDict:
      if (!obj.dict().is_namespace &&
          (name == "get" || name == "items" || name == "keys" || name == "values")) {
        const Value d = obj;
        return Value::Function("dict." + name,
                               [d, name](CallArgs& a) { return DictMethod(d, name, a); });
      }
      if (const Value* v = obj.dict().Find(name)) return *v;
      return Value::Undefined(name);
    default:
      return Value::Undefined(name);
  }
}

Result<Value> GetItem(const Value& obj, const Value& key, const BuiltinLimits& limits) {
  switch (obj.kind()) {
    case Value::Kind::kUndefined:
      return InvalidArgument((obj.str().empty() ? std::string("value") : "'" + obj.str() + "'") +
                             " is undefined (reading an item of it)");
    case Value::Kind::kDict:
      if (key.is_string()) {
        if (const Value* v = obj.dict().Find(key.str())) return *v;
        return GetAttr(obj, key.str(), limits);
      }
      return Value::Undefined();
    case Value::Kind::kList:
      if (key.is_int() || key.is_bool()) {
        int64_t i = key.int_value();
        const int64_t n = int64_t(obj.list().size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) return Value::Undefined();
        return obj.list()[size_t(i)];
      }
      return Value::Undefined();
    case Value::Kind::kString:
      if (key.is_int() || key.is_bool()) {
        const std::vector<uint32_t> cps = DecodeUtf8(obj.str());
        int64_t i = key.int_value();
        const int64_t n = int64_t(cps.size());
        if (i < 0) i += n;
        if (i < 0 || i >= n) return Value::Undefined();
        std::string s;
        AppendUtf8(cps[size_t(i)], &s);
        return Value::String(std::move(s));
      }
      if (key.is_string()) return GetAttr(obj, key.str(), limits);
      return Value::Undefined();
    default:
      return Value::Undefined();
  }
}

Result<Value> SliceOf(const Value& obj, const Value& start, const Value& stop, const Value& step) {
  for (const Value* v : {&start, &stop, &step})
    if (!v->is_undefined() && !v->is_none() && !v->is_int() && !v->is_bool())
      return InvalidArgument("slice indices must be integers or None");
  const int64_t st = step.is_int() ? step.int_value() : 1;
  if (st == 0) return InvalidArgument("slice step cannot be zero");
  auto pick = [&](int64_t len, auto&& take) {
    const int64_t b = SliceIndex(start, st > 0 ? 0 : len - 1, len, st);
    const int64_t e = SliceIndex(stop, st > 0 ? len : -1, len, st);
    for (int64_t i = b; st > 0 ? i < e : i > e; i += st) take(size_t(i));
  };
  if (obj.is_list()) {
    List out;
    pick(int64_t(obj.list().size()), [&](size_t i) { out.push_back(obj.list()[i]); });
    return Value::MakeList(std::move(out));
  }
  if (obj.is_string()) {
    const std::vector<uint32_t> cps = DecodeUtf8(obj.str());
    std::vector<uint32_t> out;
    pick(int64_t(cps.size()), [&](size_t i) { out.push_back(cps[i]); });
    return Value::String(EncodeUtf8(out));
  }
  if (obj.is_undefined()) return InvalidArgument("cannot slice an undefined value");
  return InvalidArgument(std::string("'") + obj.TypeName() + "' object is not subscriptable");
}

Result<List> Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return List{};
    case Value::Kind::kList:
      return v.list();
    case Value::Kind::kDict: {
      List keys;
      for (const auto& [k, x] : v.dict().items) keys.push_back(Value::String(k));
      return keys;
    }
    case Value::Kind::kString: {
      List chars;
      for (uint32_t cp : DecodeUtf8(v.str())) {
        std::string s;
        AppendUtf8(cp, &s);
        chars.push_back(Value::String(std::move(s)));
      }
      return chars;
    }
    default:
      return InvalidArgument(std::string("'") + v.TypeName() + "' object is not iterable");
  }
}

}  // namespace floe::jinja
