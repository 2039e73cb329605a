// Jinja2's filters and tests, as far as chat templates use them (docs/chat-templates.md lists
// them). `tojson` is Hugging Face's: json.dumps(x, ensure_ascii=False, indent=indent).
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "runtime/chat/jinja_builtins.h"
#include "runtime/chat/jinja_parser.h"
#include "runtime/chat/utf8_text.h"

namespace floe::jinja {

namespace {

constexpr const char* kFilters[] = {
    "abs",    "attr",       "capitalize", "count",  "d",          "default", "first",   "float",
    "indent", "int",        "items",      "join",   "last",       "length",  "list",    "lower",
    "map",    "max",        "min",        "reject", "rejectattr", "replace", "reverse", "safe",
    "select", "selectattr", "sort",       "string", "sum",        "title",   "tojson",  "trim",
    "unique", "upper",      "wordcount",  "e",      "escape",     "round",   "batch",   "dictsort"};
constexpr const char* kTests[] = {
    "defined", "undefined", "none",    "string", "mapping", "iterable", "sequence",    "number",
    "integer", "float",     "boolean", "true",   "false",   "callable", "equalto",     "eq",
    "==",      "ne",        "!=",      "lt",     "<",       "le",       "<=",          "gt",
    ">",       "ge",        ">=",      "in",     "odd",     "even",     "divisibleby", "lower",
    "upper",   "sameas",    "filter",  "test",   "escaped"};

bool Known(std::string_view n, const char* const* b, size_t count) {
  for (size_t i = 0; i < count; ++i)
    if (n == b[i]) return true;
  return false;
}

Status Err(std::string_view filter, const std::string& what) {
  return InvalidArgument("filter '" + std::string(filter) + "': " + what);
}

// Jinja2's attribute lookup for filters: "a.b.0" walks dicts and lists.
Result<Value> AttrPath(const Value& v, const std::string& path, const BuiltinLimits& limits) {
  Value cur = v;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    if (dot == std::string::npos) dot = path.size();
    const std::string part = path.substr(start, dot - start);
    if (cur.is_undefined()) return Value::Undefined(part);
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(),
                                                     [](char c) { return c >= '0' && c <= '9'; });
    if (digits && part.size() < 10) {
      FLOE_ASSIGN_OR_RETURN(cur, GetItem(cur, Value::Int(std::atoll(part.c_str())), limits));
    } else {
      FLOE_ASSIGN_OR_RETURN(cur, GetItem(cur, Value::String(part), limits));
    }
    start = dot + 1;
  }
  return cur;
}

Result<std::string> Indent(const std::string& s, const Value* width, bool first, bool blank,
                           const BuiltinLimits& limits) {
  std::string ind = "    ";
  if (width && width->is_string())
    ind = width->str();
  else if (width && (width->is_int() || width->is_bool())) {
    const int64_t w = width->int_value();
    if (w < 0 || size_t(w) > limits.max_string_bytes)
      return InvalidArgument("filter 'indent': width out of range");
    ind.assign(size_t(w), ' ');
  }
  // Python: (s + "\n").splitlines()
  std::vector<std::string> lines;
  const std::string t = s + "\n";
  size_t start = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '\n' || t[i] == '\r') {
      lines.push_back(t.substr(start, i - start));
      if (t[i] == '\r' && i + 1 < t.size() && t[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  if (start < t.size()) lines.push_back(t.substr(start));
  if ((lines.size() + 1) * ind.size() + s.size() > limits.max_string_bytes)
    return InvalidArgument("filter 'indent': result larger than the limit");
  std::string rv;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) rv += '\n';
    if (i && (blank || !lines[i].empty())) rv += ind;
    rv += lines[i];
  }
  if (first) rv = ind + rv;
  return rv;
}

Result<Value> Unique(const List& items, const CallArgs& a, const BuiltinLimits& limits) {
  const Value* cs = a.Get(0, "case_sensitive");
  const Value* attr = a.Get(1, "attribute");
  const bool case_sensitive = cs && cs->Truthy();
  List out;
  List seen;
  for (const Value& x : items) {
    Value key = x;
    if (attr && attr->is_string()) {
      FLOE_ASSIGN_OR_RETURN(key, AttrPath(x, attr->str(), limits));
    }
    if (!case_sensitive && key.is_string()) key = Value::String(Lower(key.str()));
    bool dup = false;
    for (const Value& s : seen) dup = dup || Equals(s, key);
    if (dup) continue;
    seen.push_back(key);
    out.push_back(x);
  }
  return Value::MakeList(std::move(out));
}

// select / reject / selectattr / rejectattr.
Result<Value> SelectLike(std::string_view name, const List& items, const CallArgs& a,
                         const BuiltinLimits& limits) {
  const bool by_attr = name == "selectattr" || name == "rejectattr";
  const bool keep_if = name == "select" || name == "selectattr";
  size_t next = 0;
  std::string attr;
  if (by_attr) {
    if (a.pos.empty() || !a.pos[0].is_string()) return Err(name, "needs an attribute name");
    attr = a.pos[0].str();
    next = 1;
  }
  std::string test;
  CallArgs targs;
  if (a.pos.size() > next) {
    if (!a.pos[next].is_string()) return Err(name, "the test name must be a string");
    test = a.pos[next].str();
    if (!IsKnownTest(test)) return Err(name, "no test named '" + test + "'");
    targs.pos.assign(a.pos.begin() + long(next) + 1, a.pos.end());
  }
  List out;
  for (const Value& x : items) {
    Value v = x;
    if (by_attr) {
      FLOE_ASSIGN_OR_RETURN(v, AttrPath(x, attr, limits));
    }
    bool pass = v.Truthy();
    if (!test.empty()) {
      FLOE_ASSIGN_OR_RETURN(pass, ApplyTest(test, v, targs));
    }
    if (pass == keep_if) out.push_back(x);
  }
  return Value::MakeList(std::move(out));
}

Result<Value> MapFilter(const List& items, const CallArgs& a, const BuiltinLimits& limits) {
  List out;
  const Value* attr = nullptr;
  const Value* def = nullptr;
  for (const auto& [k, v] : a.kw) {
    if (k == "attribute") attr = &v;
    if (k == "default") def = &v;
  }
  if (attr) {
    if (!attr->is_string()) return Err("map", "attribute must be a string");
    for (const Value& x : items) {
      FLOE_ASSIGN_OR_RETURN(Value v, AttrPath(x, attr->str(), limits));
      if (v.is_undefined() && def) v = *def;
      out.push_back(std::move(v));
    }
    return Value::MakeList(std::move(out));
  }
  if (a.pos.empty() || !a.pos[0].is_string())
    return Err("map", "needs a filter name or attribute=");
  const std::string f = a.pos[0].str();
  if (!IsKnownFilter(f) || f == "map") return Err("map", "no filter named '" + f + "'");
  CallArgs fargs;
  fargs.pos.assign(a.pos.begin() + 1, a.pos.end());
  fargs.kw = a.kw;
  for (const Value& x : items) {
    FLOE_ASSIGN_OR_RETURN(Value v, ApplyFilter(f, x, fargs, limits));
    out.push_back(std::move(v));
  }
  return Value::MakeList(std::move(out));
}

Result<Value> ToInt(const Value& v, const Value* def) {
  const Value fallback = def ? *def : Value::Int(0);
  if (v.is_int() || v.is_bool()) return Value::Int(v.int_value());
  if (v.is_float()) return std::isfinite(v.number()) ? Value::Int(int64_t(v.number())) : fallback;
  if (v.is_string()) {
    const std::string s = Strip(v.str(), nullptr, true, true);
    char* end = nullptr;
    const long long i = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && end && *end == '\0') return Value::Int(i);
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0' && std::isfinite(d)) return Value::Int(int64_t(d));
  }
  return fallback;
}

Result<Value> ToFloat(const Value& v, const Value* def) {
  const Value fallback = def ? *def : Value::Float(0);
  if (v.is_number()) return Value::Float(v.number());
  if (v.is_string()) {
    const std::string s = Strip(v.str(), nullptr, true, true);
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0') return Value::Float(d);
  }
  return fallback;
}

Result<Value> SortFilter(List items, const CallArgs& a, const BuiltinLimits& limits) {
  const Value* rev = a.Get(0, "reverse");
  const Value* cs = a.Get(1, "case_sensitive");
  const Value* attr = a.Get(2, "attribute");
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& x : items) {
    Value k = x;
    if (attr && attr->is_string()) {
      FLOE_ASSIGN_OR_RETURN(k, AttrPath(x, attr->str(), limits));
    }
    if (!(cs && cs->Truthy()) && k.is_string()) k = Value::String(Lower(k.str()));
    keyed.emplace_back(std::move(k), std::move(x));
  }
  Status err;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& p, const auto& q) {
    auto r = Less(p.first, q.first);
    if (!r.ok()) {
      if (err.ok()) err = r.status();
      return false;
    }
    return *r;
  });
  FLOE_RETURN_IF_ERROR(err);
  List out;
  for (auto& [k, v] : keyed) out.push_back(std::move(v));
  if (rev && rev->Truthy()) std::reverse(out.begin(), out.end());
  return Value::MakeList(std::move(out));
}

}  // namespace

bool IsKnownFilter(std::string_view name) {
  return Known(name, kFilters, sizeof kFilters / sizeof kFilters[0]);
}
bool IsKnownTest(std::string_view name) {
  return Known(name, kTests, sizeof kTests / sizeof kTests[0]);
}

Result<Value> ApplyFilter(std::string_view name, const Value& v, const CallArgs& a,
                          const BuiltinLimits& limits) {
  const size_t cap = limits.max_string_bytes;
  auto str_of = [&](const Value& x) -> Result<std::string> {
    std::string s = x.ToString(cap);
    if (s.size() > cap) return Err(name, "text larger than the limit");
    return s;
  };
  if (name == "safe" || name == "e" || name == "escape") return v;  // autoescape is off
  if (name == "trim") {
    const Value* chars = a.Get(0, "chars");
    FLOE_ASSIGN_OR_RETURN(std::string s, str_of(v));
    std::string set = chars && chars->is_string() ? chars->str() : "";
    return Value::String(Strip(s, chars && chars->is_string() ? &set : nullptr, true, true));
  }
  if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    FLOE_ASSIGN_OR_RETURN(std::string s, str_of(v));
    if (name == "upper") return Value::String(Upper(s));
    if (name == "lower") return Value::String(Lower(s));
    if (name == "capitalize") return Value::String(Capitalize(s));
    // jinja2's title: words start after whitespace, '-', '(', '{', '[' or '<'.
    std::vector<uint32_t> cps = DecodeUtf8(s);
    bool start = true;
    for (uint32_t& c : cps) {
      const bool sep = IsSpaceCp(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
      if (sep) {
        start = true;
        continue;
      }
      c = start ? ToUpperCp(c) : ToLowerCp(c);
      start = false;
    }
    return Value::String(EncodeUtf8(cps));
  }
  if (name == "string") {
    FLOE_ASSIGN_OR_RETURN(std::string s, str_of(v));
    return Value::String(std::move(s));
  }
  if (name == "length" || name == "count") {
    switch (v.kind()) {
      case Value::Kind::kUndefined:
        return Value::Int(0);
      case Value::Kind::kString:
        return Value::Int(int64_t(CountCodePoints(v.str())));
      case Value::Kind::kList:
        return Value::Int(int64_t(v.list().size()));
      case Value::Kind::kDict:
        return Value::Int(int64_t(v.dict().items.size()));
      default:
        return Err(name, std::string("object of type '") + v.TypeName() + "' has no len()");
    }
  }
  if (name == "default" || name == "d") {
    const Value* def = a.Get(0, "default_value");
    const Value* boolean = a.Get(1, "boolean");
    const bool use = v.is_undefined() || (boolean && boolean->Truthy() && !v.Truthy());
    if (use) return def ? *def : Value::String("");
    return v;
  }
  if (name == "tojson") {
    const Value* indent = nullptr;
    for (const auto& [k, x] : a.kw)
      if (k == "indent") indent = &x;
    int ind = -1;
    if (indent && !indent->is_none()) {
      if (!indent->is_int() || indent->int_value() < 0 || indent->int_value() > 64)
        return Err(name, "indent must be an integer in [0, 64]");
      ind = int(indent->int_value());
    }
    std::string out;
    FLOE_RETURN_IF_ERROR(ToJson(v, ind, &out, cap));
    if (out.size() > cap) return Err(name, "text larger than the limit");
    return Value::String(std::move(out));
  }
  if (name == "indent") {
    FLOE_ASSIGN_OR_RETURN(std::string s, str_of(v));
    const Value* first = a.Get(1, "first");
    const Value* blank = a.Get(2, "blank");
    FLOE_ASSIGN_OR_RETURN(std::string r, Indent(s, a.Get(0, "width"), first && first->Truthy(),
                                                blank && blank->Truthy(), limits));
    return Value::String(std::move(r));
  }
  if (name == "replace") {
    FLOE_ASSIGN_OR_RETURN(std::string s, str_of(v));
    CallArgs m;
    m.pos = a.pos;
    m.kw = a.kw;
    FLOE_ASSIGN_OR_RETURN(Value method, GetAttr(Value::String(std::move(s)), "replace", limits));
    return method.callable().fn(m);
  }
  if (name == "int") return ToInt(v, a.Get(0, "default"));
  if (name == "float") return ToFloat(v, a.Get(0, "default"));
  if (name == "abs") {
    if (v.is_float()) return Value::Float(std::fabs(v.number()));
    if (v.is_int() || v.is_bool())
      return Value::Int(v.int_value() < 0 ? -v.int_value() : v.int_value());
    return Err(name, std::string("bad operand type '") + v.TypeName() + "'");
  }
  if (name == "round") {
    if (!v.is_number()) return Err(name, "expects a number");
    const Value* p = a.Get(0, "precision");
    const double scale = std::pow(10.0, p && p->is_int() ? double(p->int_value()) : 0.0);
    return Value::Float(std::round(v.number() * scale) / scale);
  }
  if (name == "items") {
    if (v.is_undefined()) return Value::MakeList();
    if (!v.is_dict()) return Err(name, "can only process mappings");
    List out;
    for (const auto& [k, x] : v.dict().items)
      out.push_back(Value::MakeTuple({Value::String(k), x}));
    return Value::MakeList(std::move(out));
  }
  if (name == "dictsort") {
    if (!v.is_dict()) return Err(name, "can only process mappings");
    List out;
    for (const auto& [k, x] : v.dict().items)
      out.push_back(Value::MakeTuple({Value::String(k), x}));
    std::stable_sort(out.begin(), out.end(), [](const Value& p, const Value& q) {
      return Lower(p.list()[0].str()) < Lower(q.list()[0].str());
    });
    return Value::MakeList(std::move(out));
  }
  if (name == "attr") {
    const Value* n = a.Get(0, "name");
    if (!n || !n->is_string()) return Err(name, "needs an attribute name");
    return GetAttr(v, n->str(), limits);
  }
  if (name == "wordcount") {
    FLOE_ASSIGN_OR_RETURN(std::string s, str_of(v));
    {
      int64_t n = 0;
      bool in = false;
      for (uint32_t c : DecodeUtf8(s)) {
        const bool w = IsAlnumCp(c) || c == '_';
        n += w && !in;
        in = w;
      }
      return Value::Int(n);
    }
  }
  // The rest work on the items of a sequence.
  FLOE_ASSIGN_OR_RETURN(List items, Iterate(v));
  if (name == "list") {
    if (items.size() > limits.max_items) return Err(name, "list longer than the limit");
    return Value::MakeList(std::move(items));
  }
  if (name == "first") return items.empty() ? Value::Undefined() : items.front();
  if (name == "last") return items.empty() ? Value::Undefined() : items.back();
  if (name == "reverse") {
    if (v.is_string()) {
      std::vector<uint32_t> cps = DecodeUtf8(v.str());
      std::reverse(cps.begin(), cps.end());
      return Value::String(EncodeUtf8(cps));
    }
    std::reverse(items.begin(), items.end());
    return Value::MakeList(std::move(items));
  }
  if (name == "join") {
    const Value* sep = a.Get(0, "d");
    const Value* attr = a.Get(1, "attribute");
    std::string d = sep ? sep->ToString(cap) : "";
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) out += d;
      Value x = items[i];
      if (attr && attr->is_string()) {
        FLOE_ASSIGN_OR_RETURN(x, AttrPath(x, attr->str(), limits));
      }
      out += x.ToString(cap);
      if (out.size() > cap) return Err(name, "text larger than the limit");
    }
    return Value::String(std::move(out));
  }
  if (name == "unique") return Unique(items, a, limits);
  if (name == "map") return MapFilter(items, a, limits);
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr")
    return SelectLike(name, items, a, limits);
  if (name == "sort") return SortFilter(std::move(items), a, limits);
  if (name == "batch") {
    const Value* n = a.Get(0, "linecount");
    if (!n || !n->is_int() || n->int_value() <= 0) return Err(name, "needs a positive count");
    List out;
    for (size_t i = 0; i < items.size(); i += size_t(n->int_value())) {
      const size_t e = std::min(items.size(), i + size_t(n->int_value()));
      out.push_back(Value::MakeList(List(items.begin() + long(i), items.begin() + long(e))));
    }
    return Value::MakeList(std::move(out));
  }
  if (name == "sum") {
    Value total = Value::Int(0);
    for (const Value& x : items) {
      if (!x.is_number()) return Err(name, "items must be numbers");
      total = (total.is_float() || x.is_float()) ? Value::Float(total.number() + x.number())
                                                 : Value::Int(total.int_value() + x.int_value());
    }
    return total;
  }
  if (name == "min" || name == "max") {
    if (items.empty()) return Value::Undefined();
    Value best = items[0];
    for (const Value& x : items) {
      FLOE_ASSIGN_OR_RETURN(bool lt, name == "min" ? Less(x, best) : Less(best, x));
      if (lt) best = x;
    }
    return best;
  }
  return Err(name, "unknown filter");
}

Result<bool> ApplyTest(std::string_view name, const Value& v, const CallArgs& a) {
  const Value* arg = a.Get(0, "other");
  auto need_arg = [&]() -> Status {
    if (!arg) return InvalidArgument("test '" + std::string(name) + "' needs an argument");
    return Status::Ok();
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable") return v.is_undefined() || v.is_list() || v.is_dict() || v.is_string();
  if (name == "sequence") return v.is_list() || v.is_dict() || v.is_string();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.bool_value();
  if (name == "false") return v.is_bool() && !v.bool_value();
  if (name == "callable") return v.is_callable();
  if (name == "escaped") return false;
  if (name == "filter" || name == "test") {
    if (!v.is_string()) return false;
    return name == "filter" ? IsKnownFilter(v.str()) : IsKnownTest(v.str());
  }
  if (name == "lower" || name == "upper") {
    if (!v.is_string()) return false;
    return name == "lower" ? Lower(v.str()) == v.str() : Upper(v.str()) == v.str();
  }
  if (name == "odd" || name == "even") {
    if (!v.is_int() && !v.is_bool())
      return InvalidArgument("test '" + std::string(name) + "' needs an integer");
    return (v.int_value() % 2 != 0) == (name == "odd");
  }
  FLOE_RETURN_IF_ERROR(need_arg());
  if (name == "divisibleby") {
    if (!(v.is_int() || v.is_bool()) || !(arg->is_int() || arg->is_bool()) || arg->int_value() == 0)
      return InvalidArgument("test 'divisibleby' needs integers (and a non-zero divisor)");
    return v.int_value() % arg->int_value() == 0;
  }
  if (name == "equalto" || name == "eq" || name == "==") return Equals(v, *arg);
  if (name == "ne" || name == "!=") return !Equals(v, *arg);
  if (name == "sameas") {
    if (v.kind() != arg->kind()) return false;
    if (v.is_list()) return &v.list() == &arg->list();
    if (v.is_dict()) return &v.dict() == &arg->dict();
    return Equals(v, *arg);
  }
  if (name == "in") return Contains(*arg, v);
  if (name == "lt" || name == "<") return Less(v, *arg);
  if (name == "gt" || name == ">") return Less(*arg, v);
  if (name == "le" || name == "<=") {
    FLOE_ASSIGN_OR_RETURN(bool gt, Less(*arg, v));
    return !gt;
  }
  if (name == "ge" || name == ">=") {
    FLOE_ASSIGN_OR_RETURN(bool lt, Less(v, *arg));
    return !lt;
  }
  return InvalidArgument("no test named '" + std::string(name) + "'");
}

}  // namespace floe::jinja
