#include "runtime/chat/jinja_eval.h"

#include <cmath>
#include <memory>

namespace floe::jinja {

namespace {

struct Scope {
  std::vector<std::pair<std::string, Value>> vars;
  std::shared_ptr<Scope> parent;

  const Value* Find(const std::string& name) const {
    for (const Scope* s = this; s; s = s->parent.get())
      for (const auto& [k, v] : s->vars)
        if (k == name) return &v;
    return nullptr;
  }
  void Set(const std::string& name, Value v) {
    for (auto& [k, old] : vars)
      if (k == name) {
        old = std::move(v);
        return;
      }
    vars.emplace_back(name, std::move(v));
  }
};
using ScopePtr = std::shared_ptr<Scope>;

enum class Flow { kNormal, kBreak, kContinue };

Status AtLine(int line, const Status& st) {
  if (st.ok() || st.message().rfind("template line ", 0) == 0) return st;
  return Status(st.code(), "template line " + std::to_string(line) + ": " + st.message());
}

bool HasNamespace(const Value& v) {
  if (v.is_dict()) {
    if (v.dict().is_namespace) return true;
    for (const auto& [k, x] : v.dict().items)
      if (HasNamespace(x)) return true;
  } else if (v.is_list()) {
    for (const Value& x : v.list())
      if (HasNamespace(x)) return true;
  }
  return false;
}

class Evaluator {
 public:
  Evaluator(const Dict& globals, const EvalLimits& limits) : globals_(globals), limits_(limits) {
    AddBuiltins();
  }

  Result<std::string> Run(const Template& tpl) {
    root_ = std::make_shared<Scope>();
    std::string out;
    FLOE_ASSIGN_OR_RETURN(Flow f, ExecBody(tpl.body, root_, &out));
    (void)f;
    return out;
  }

 private:
  // ---- limits ----
  Status Step() {
    if (++steps_ > limits_.max_steps)
      return InvalidArgument("rendering exceeded the step budget (" +
                             std::to_string(limits_.max_steps) + " steps)");
    return Status::Ok();
  }
  Status Emit(std::string* out, const std::string& s) {
    if (out->size() + s.size() > limits_.max_output_bytes)
      return InvalidArgument("output larger than the limit (" +
                             std::to_string(limits_.max_output_bytes) + " bytes)");
    *out += s;
    return Status::Ok();
  }
  Status CheckValue(const Value& v) const {
    if (v.depth() > limits_.max_value_depth)
      return InvalidArgument("value nested deeper than the limit (" +
                             std::to_string(limits_.max_value_depth) + ")");
    if (v.is_string() && v.str().size() > limits_.builtins.max_string_bytes)
      return InvalidArgument("string longer than the limit (" +
                             std::to_string(limits_.builtins.max_string_bytes) + " bytes)");
    if (v.is_list() && v.list().size() > limits_.builtins.max_items)
      return InvalidArgument("list longer than the limit (" +
                             std::to_string(limits_.builtins.max_items) + " items)");
    return Status::Ok();
  }

  // ---- statements ----
  Result<Flow> ExecBody(const Body& body, const ScopePtr& scope, std::string* out) {
    for (const auto& n : body) {
      FLOE_ASSIGN_OR_RETURN(Flow f, Exec(*n, scope, out));
      if (f != Flow::kNormal) return f;
    }
    return Flow::kNormal;
  }

  Result<Flow> Exec(const Node& n, const ScopePtr& scope, std::string* out) {
    FLOE_RETURN_IF_ERROR(Step());
    switch (n.kind) {
      case Node::Kind::kText:
        FLOE_RETURN_IF_ERROR(Emit(out, n.text));
        return Flow::kNormal;
      case Node::Kind::kOutput: {
        FLOE_ASSIGN_OR_RETURN(Value v, EvalAt(*n.expr, scope));
        FLOE_RETURN_IF_ERROR(AtLine(n.line, Emit(out, v.ToString(limits_.max_output_bytes))));
        return Flow::kNormal;
      }
      case Node::Kind::kIf:
        for (size_t i = 0; i < n.conds.size(); ++i) {
          FLOE_ASSIGN_OR_RETURN(Value c, EvalAt(*n.conds[i], scope));
          if (c.Truthy()) return ExecBody(n.bodies[i], scope, out);
        }
        return ExecBody(n.else_body, scope, out);
      case Node::Kind::kFor:
        return ExecFor(n, scope, out);
      case Node::Kind::kSet: {
        FLOE_ASSIGN_OR_RETURN(Value v, EvalAt(*n.expr, scope));
        FLOE_RETURN_IF_ERROR(AtLine(n.line, Assign(n, std::move(v), scope)));
        return Flow::kNormal;
      }
      case Node::Kind::kSetBlock: {
        std::string text;
        FLOE_ASSIGN_OR_RETURN(Flow f, ExecBody(n.body, scope, &text));
        (void)f;
        scope->Set(n.targets[0], Value::String(std::move(text)));
        return Flow::kNormal;
      }
      case Node::Kind::kMacro:
        scope->Set(n.name, MakeMacro(n, scope));
        return Flow::kNormal;
      case Node::Kind::kBreak:
        return Flow::kBreak;
      case Node::Kind::kContinue:
        return Flow::kContinue;
    }
    return Flow::kNormal;
  }

  Status Assign(const Node& n, Value v, const ScopePtr& scope) {
    if (!n.attr.empty()) {
      const Value* target = Lookup(n.targets[0], scope);
      if (!target || !target->is_dict() || !target->dict().is_namespace)
        return InvalidArgument("cannot assign attribute '" + n.attr + "' of '" + n.targets[0] +
                               "': not a namespace");
      if (HasNamespace(v)) return InvalidArgument("a namespace cannot hold a namespace");
      target->dict().Set(n.attr, std::move(v));
      return Status::Ok();
    }
    if (n.targets.size() == 1) {
      scope->Set(n.targets[0], std::move(v));
      return Status::Ok();
    }
    FLOE_ASSIGN_OR_RETURN(List items, Iterate(v));
    if (items.size() != n.targets.size())
      return InvalidArgument("cannot unpack " + std::to_string(items.size()) + " values into " +
                             std::to_string(n.targets.size()) + " names");
    for (size_t i = 0; i < items.size(); ++i) scope->Set(n.targets[i], items[i]);
    return Status::Ok();
  }

  Result<Flow> ExecFor(const Node& n, const ScopePtr& scope, std::string* out) {
    FLOE_ASSIGN_OR_RETURN(Value seq, EvalAt(*n.expr, scope));
    auto items_r = Iterate(seq);
    if (!items_r.ok()) return AtLine(n.line, items_r.status());
    List items = std::move(*items_r);
    auto loop_scope = std::make_shared<Scope>();
    loop_scope->parent = scope;
    auto bind = [&](const Value& item) -> Status {
      if (n.targets.size() == 1) {
        loop_scope->Set(n.targets[0], item);
        return Status::Ok();
      }
      auto parts = Iterate(item);
      if (!parts.ok()) return AtLine(n.line, parts.status());
      if (parts->size() != n.targets.size())
        return AtLine(n.line, InvalidArgument("cannot unpack " + std::to_string(parts->size()) +
                                              " values into " + std::to_string(n.targets.size()) +
                                              " loop names"));
      for (size_t i = 0; i < parts->size(); ++i) loop_scope->Set(n.targets[i], (*parts)[i]);
      return Status::Ok();
    };
    if (n.cond) {  // `for x in xs if cond`: the loop variables count the kept items only
      List kept;
      for (const Value& item : items) {
        FLOE_RETURN_IF_ERROR(Step());
        FLOE_RETURN_IF_ERROR(bind(item));
        FLOE_ASSIGN_OR_RETURN(Value c, EvalAt(*n.cond, loop_scope));
        if (c.Truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    if (items.empty()) return ExecBody(n.else_body, scope, out);
    const int64_t len = int64_t(items.size());
    for (int64_t i = 0; i < len; ++i) {
      FLOE_RETURN_IF_ERROR(bind(items[size_t(i)]));
      Dict loop;
      loop.items = {
          {"index", Value::Int(i + 1)},
          {"index0", Value::Int(i)},
          {"revindex", Value::Int(len - i)},
          {"revindex0", Value::Int(len - i - 1)},
          {"first", Value::Bool(i == 0)},
          {"last", Value::Bool(i == len - 1)},
          {"length", Value::Int(len)},
          {"depth", Value::Int(1)},
          {"depth0", Value::Int(0)},
          {"previtem", i > 0 ? items[size_t(i - 1)] : Value::Undefined("previtem")},
          {"nextitem", i + 1 < len ? items[size_t(i + 1)] : Value::Undefined("nextitem")}};
      loop.items.emplace_back(
          "cycle", Value::Function("loop.cycle", [i](CallArgs& a) -> Result<Value> {
            if (a.pos.empty()) return InvalidArgument("loop.cycle() needs at least one argument");
            return a.pos[size_t(i) % a.pos.size()];
          }));
      loop_scope->Set("loop", Value::MakeDict(std::move(loop)));
      FLOE_ASSIGN_OR_RETURN(Flow f, ExecBody(n.body, loop_scope, out));
      if (f == Flow::kBreak) break;
    }
    return Flow::kNormal;
  }

  Value MakeMacro(const Node& n, const ScopePtr& scope) {
    std::weak_ptr<Scope> defined_in = scope;
    const Node* node = &n;
    return Value::Function(n.name, [this, node, defined_in](CallArgs& a) -> Result<Value> {
      if (call_depth_ >= limits_.max_call_depth)
        return InvalidArgument("macro calls nested deeper than the limit (" +
                               std::to_string(limits_.max_call_depth) + ")");
      if (a.pos.size() > node->params.size())
        return InvalidArgument("macro '" + node->name + "' takes " +
                               std::to_string(node->params.size()) + " arguments, got " +
                               std::to_string(a.pos.size()));
      auto s = std::make_shared<Scope>();
      s->parent = defined_in.lock();
      if (!s->parent) s->parent = root_;
      for (size_t i = 0; i < node->params.size(); ++i) {
        const auto& [pname, def] = node->params[i];
        const Value* given = a.Get(i, pname);
        if (given) {
          s->Set(pname, *given);
        } else if (def) {
          FLOE_ASSIGN_OR_RETURN(Value d, Eval(*def, s));
          s->Set(pname, std::move(d));
        } else {
          s->Set(pname, Value::Undefined(pname));
        }
      }
      for (const auto& [k, v] : a.kw) {
        bool known = false;
        for (const auto& p : node->params) known = known || p.first == k;
        if (!known)
          return InvalidArgument("macro '" + node->name + "' has no parameter '" + k + "'");
      }
      ++call_depth_;
      std::string text;
      auto r = ExecBody(node->body, s, &text);
      --call_depth_;
      if (!r.ok()) return r.status();
      return Value::String(std::move(text));
    });
  }

  // ---- expressions ----
  const Value* Lookup(const std::string& name, const ScopePtr& scope) const {
    if (const Value* v = scope->Find(name)) return v;
    if (const Value* v = globals_.Find(name)) return v;
    return builtins_.Find(name);
  }

  Result<Value> EvalAt(const Expr& e, const ScopePtr& scope) {
    auto r = Eval(e, scope);
    if (!r.ok()) return AtLine(e.line, r.status());
    return r;
  }

  Result<Value> Eval(const Expr& e, const ScopePtr& scope) {
    FLOE_RETURN_IF_ERROR(Step());
    auto r = EvalInner(e, scope);
    if (!r.ok()) return AtLine(e.line, r.status());
    FLOE_RETURN_IF_ERROR(AtLine(e.line, CheckValue(*r)));
    return r;
  }

  Result<CallArgs> EvalArgs(const Expr& e, const ScopePtr& scope) {
    CallArgs a;
    for (const auto& x : e.items) {
      FLOE_ASSIGN_OR_RETURN(Value v, Eval(*x, scope));
      a.pos.push_back(std::move(v));
    }
    for (const auto& [k, x] : e.kwargs) {
      FLOE_ASSIGN_OR_RETURN(Value v, Eval(*x, scope));
      a.kw.emplace_back(k, std::move(v));
    }
    return a;
  }

  static Status UndefinedError(const Value& v) {
    return InvalidArgument((v.str().empty() ? std::string("a value") : "'" + v.str() + "'") +
                           " is undefined");
  }

  Result<Value> EvalInner(const Expr& e, const ScopePtr& scope) {
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        return e.literal;
      case Expr::Kind::kName: {
        const Value* v = Lookup(e.name, scope);
        return v ? *v : Value::Undefined(e.name);
      }
      case Expr::Kind::kList:
      case Expr::Kind::kTuple: {
        List items;
        for (const auto& x : e.items) {
          FLOE_ASSIGN_OR_RETURN(Value v, Eval(*x, scope));
          items.push_back(std::move(v));
        }
        if (e.kind == Expr::Kind::kTuple) return Value::MakeTuple(std::move(items));
        return Value::MakeList(std::move(items));
      }
      case Expr::Kind::kDict: {
        Dict d;
        for (size_t i = 0; i < e.items.size(); ++i) {
          FLOE_ASSIGN_OR_RETURN(Value k, Eval(*e.keys[i], scope));
          FLOE_ASSIGN_OR_RETURN(Value v, Eval(*e.items[i], scope));
          if (!k.is_string()) return InvalidArgument("dict keys must be strings");
          d.Set(k.str(), std::move(v));
        }
        return Value::MakeDict(std::move(d));
      }
      case Expr::Kind::kNot: {
        FLOE_ASSIGN_OR_RETURN(Value v, Eval(*e.a, scope));
        return Value::Bool(!v.Truthy());
      }
      case Expr::Kind::kNeg:
      case Expr::Kind::kPos: {
        FLOE_ASSIGN_OR_RETURN(Value v, Eval(*e.a, scope));
        if (v.is_undefined()) return UndefinedError(v);
        if (!v.is_number())
          return InvalidArgument(std::string("bad operand type for unary -: '") + v.TypeName() +
                                 "'");
        if (e.kind == Expr::Kind::kPos) return v.is_float() ? v : Value::Int(v.int_value());
        if (v.is_float()) return Value::Float(-v.number());
        if (v.int_value() == INT64_MIN) return InvalidArgument("integer overflow");
        return Value::Int(-v.int_value());
      }
      case Expr::Kind::kAnd:
      case Expr::Kind::kOr: {
        FLOE_ASSIGN_OR_RETURN(Value a, Eval(*e.a, scope));
        if ((e.kind == Expr::Kind::kAnd) != a.Truthy()) return a;
        return Eval(*e.b, scope);
      }
      case Expr::Kind::kCond: {
        FLOE_ASSIGN_OR_RETURN(Value c, Eval(*e.b, scope));
        if (c.Truthy()) return Eval(*e.a, scope);
        if (e.c) return Eval(*e.c, scope);
        return Value::Undefined();
      }
      case Expr::Kind::kBinary: {
        FLOE_ASSIGN_OR_RETURN(Value a, Eval(*e.a, scope));
        FLOE_ASSIGN_OR_RETURN(Value b, Eval(*e.b, scope));
        return Binary(e.name, a, b);
      }
      case Expr::Kind::kCompare: {
        FLOE_ASSIGN_OR_RETURN(Value left, Eval(*e.a, scope));
        for (size_t i = 0; i < e.ops.size(); ++i) {
          FLOE_ASSIGN_OR_RETURN(Value right, Eval(*e.items[i], scope));
          FLOE_ASSIGN_OR_RETURN(bool r, Compare(e.ops[i], left, right));
          if (!r) return Value::Bool(false);
          left = std::move(right);
        }
        return Value::Bool(true);
      }
      case Expr::Kind::kGetAttr: {
        FLOE_ASSIGN_OR_RETURN(Value obj, Eval(*e.a, scope));
        return GetAttr(obj, e.name, limits_.builtins);
      }
      case Expr::Kind::kGetItem: {
        FLOE_ASSIGN_OR_RETURN(Value obj, Eval(*e.a, scope));
        FLOE_ASSIGN_OR_RETURN(Value key, Eval(*e.b, scope));
        return GetItem(obj, key, limits_.builtins);
      }
      case Expr::Kind::kSlice: {
        FLOE_ASSIGN_OR_RETURN(Value obj, Eval(*e.a, scope));
        Value parts[3];
        const Expr* exprs[3] = {e.b.get(), e.c.get(), e.d.get()};
        for (int i = 0; i < 3; ++i)
          if (exprs[i]) {
            FLOE_ASSIGN_OR_RETURN(parts[i], Eval(*exprs[i], scope));
          }
        return SliceOf(obj, parts[0], parts[1], parts[2]);
      }
      case Expr::Kind::kCall: {
        FLOE_ASSIGN_OR_RETURN(Value fn, Eval(*e.a, scope));
        FLOE_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, scope));
        if (fn.is_undefined()) return UndefinedError(fn);
        if (!fn.is_callable())
          return InvalidArgument(std::string("'") + fn.TypeName() + "' object is not callable");
        return fn.callable().fn(args);
      }
      case Expr::Kind::kFilter: {
        FLOE_ASSIGN_OR_RETURN(Value v, Eval(*e.a, scope));
        FLOE_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, scope));
        return ApplyFilter(e.name, v, args, limits_.builtins);
      }
      case Expr::Kind::kTest: {
        FLOE_ASSIGN_OR_RETURN(Value v, Eval(*e.a, scope));
        FLOE_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e, scope));
        FLOE_ASSIGN_OR_RETURN(bool r, ApplyTest(e.name, v, args));
        return Value::Bool(r != e.negate);
      }
    }
    return Internal("unknown expression");
  }

  Result<bool> Compare(const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return Equals(a, b);
    if (op == "!=") return !Equals(a, b);
    if (op == "in" || op == "notin") {
      FLOE_ASSIGN_OR_RETURN(bool in, Contains(b, a));
      return in == (op == "in");
    }
    if (a.is_undefined()) return UndefinedError(a);
    if (b.is_undefined()) return UndefinedError(b);
    if (op == "<") return Less(a, b);
    if (op == ">") return Less(b, a);
    if (op == "<=") {
      FLOE_ASSIGN_OR_RETURN(bool gt, Less(b, a));
      return !gt;
    }
    FLOE_ASSIGN_OR_RETURN(bool lt, Less(a, b));
    return !lt;
  }

  Result<Value> Repeat(const Value& seq, int64_t n) {
    if (n < 0) n = 0;
    if (seq.is_string()) {
      if (!seq.str().empty() && uint64_t(n) > limits_.builtins.max_string_bytes / seq.str().size())
        return InvalidArgument("string repetition larger than the limit");
      std::string s;
      for (int64_t i = 0; i < n; ++i) s += seq.str();
      return Value::String(std::move(s));
    }
    if (!seq.list().empty() && uint64_t(n) > limits_.builtins.max_items / seq.list().size())
      return InvalidArgument("list repetition longer than the limit");
    List out;
    for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.list().begin(), seq.list().end());
    return Value::MakeList(std::move(out));
  }

  Result<Value> Binary(const std::string& op, const Value& a, const Value& b) {
    if (op == "~") {
      std::string s = a.ToString(limits_.builtins.max_string_bytes);
      s += b.ToString(limits_.builtins.max_string_bytes);
      return Value::String(std::move(s));
    }
    if (a.is_undefined()) return UndefinedError(a);
    if (b.is_undefined()) return UndefinedError(b);
    const auto type_error = [&]() -> Status {
      return InvalidArgument("unsupported operand type(s) for " + op + ": '" + a.TypeName() +
                             "' and '" + b.TypeName() + "'");
    };
    if (op == "+") {
      if (a.is_string() && b.is_string()) {
        if (a.str().size() + b.str().size() > limits_.builtins.max_string_bytes)
          return InvalidArgument("string longer than the limit");
        return Value::String(a.str() + b.str());
      }
      if (a.is_list() && b.is_list()) {
        if (a.list().size() + b.list().size() > limits_.builtins.max_items)
          return InvalidArgument("list longer than the limit");
        List out = a.list();
        out.insert(out.end(), b.list().begin(), b.list().end());
        return Value::MakeList(std::move(out));
      }
    }
    if (op == "*") {
      if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool()))
        return Repeat(a, b.int_value());
      if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool()))
        return Repeat(b, a.int_value());
    }
    if (op == "%" && a.is_string())
      return InvalidArgument("printf-style '%' string formatting is not supported");
    if (!a.is_number() || !b.is_number()) return type_error();
    const bool ints = !a.is_float() && !b.is_float();
    const int64_t x = a.int_value(), y = b.int_value();
    const double fx = a.number(), fy = b.number();
    int64_t r = 0;
    if (op == "+") {
      if (!ints) return Value::Float(fx + fy);
      if (__builtin_add_overflow(x, y, &r)) return InvalidArgument("integer overflow");
      return Value::Int(r);
    }
    if (op == "-") {
      if (!ints) return Value::Float(fx - fy);
      if (__builtin_sub_overflow(x, y, &r)) return InvalidArgument("integer overflow");
      return Value::Int(r);
    }
    if (op == "*") {
      if (!ints) return Value::Float(fx * fy);
      if (__builtin_mul_overflow(x, y, &r)) return InvalidArgument("integer overflow");
      return Value::Int(r);
    }
    if (op == "/") {
      if (fy == 0) return InvalidArgument("division by zero");
      return Value::Float(fx / fy);
    }
    if (op == "//" || op == "%") {
      if (ints) {
        if (y == 0) return InvalidArgument("integer division or modulo by zero");
        if (x == INT64_MIN && y == -1) return InvalidArgument("integer overflow");
        int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) {
          --q;
          m += y;
        }
        return Value::Int(op == "//" ? q : m);
      }
      if (fy == 0) return InvalidArgument("float division or modulo by zero");
      const double q = std::floor(fx / fy);
      return Value::Float(op == "//" ? q : fx - q * fy);
    }
    if (op == "**") {
      if (ints && y >= 0) {
        int64_t acc = 1;
        for (int64_t i = 0; i < y; ++i) {
          if (__builtin_mul_overflow(acc, x, &acc)) return InvalidArgument("integer overflow");
          if (acc == 0 || acc == 1) break;
          if (acc == -1) {
            acc = ((y - i - 1) % 2 == 0) ? -1 : 1;
            break;
          }
        }
        return Value::Int(acc);
      }
      return Value::Float(std::pow(fx, fy));
    }
    return type_error();
  }

  // ---- builtin globals: range, namespace, dict ----
  void AddBuiltins() {
    const size_t max_items = limits_.builtins.max_items;
    builtins_.Set("range", Value::Function("range", [max_items](CallArgs& a) -> Result<Value> {
                    int64_t start = 0, stop = 0, step = 1;
                    for (const Value& v : a.pos)
                      if (!v.is_int() && !v.is_bool())
                        return InvalidArgument("range() takes integers");
                    if (a.pos.size() == 1)
                      stop = a.pos[0].int_value();
                    else if (a.pos.size() == 2 || a.pos.size() == 3) {
                      start = a.pos[0].int_value();
                      stop = a.pos[1].int_value();
                      if (a.pos.size() == 3) step = a.pos[2].int_value();
                    } else {
                      return InvalidArgument("range() takes 1 to 3 arguments");
                    }
                    if (step == 0) return InvalidArgument("range() step must not be zero");
                    const long double count = step > 0
                                                  ? std::ceil((long double)(stop - start) / step)
                                                  : std::ceil((long double)(start - stop) / -step);
                    if (count > (long double)max_items)
                      return InvalidArgument("range() longer than the limit");
                    List out;
                    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
                      out.push_back(Value::Int(i));
                    return Value::MakeList(std::move(out));
                  }));
    auto make_dict = [](bool ns) {
      return [ns](CallArgs& a) -> Result<Value> {
        Dict d;
        d.is_namespace = ns;
        for (const Value& p : a.pos) {
          if (!p.is_dict()) return InvalidArgument("expected a mapping as positional argument");
          if (ns && HasNamespace(p)) return InvalidArgument("a namespace cannot hold a namespace");
          for (const auto& [k, v] : p.dict().items) d.Set(k, v);
        }
        for (const auto& [k, v] : a.kw) {
          if (ns && HasNamespace(v)) return InvalidArgument("a namespace cannot hold a namespace");
          d.Set(k, v);
        }
        return Value::MakeDict(std::move(d));
      };
    };
    builtins_.Set("namespace", Value::Function("namespace", make_dict(true)));
    builtins_.Set("dict", Value::Function("dict", make_dict(false)));
  }

  const Dict& globals_;
  const EvalLimits& limits_;
  Dict builtins_;
  ScopePtr root_;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
};

}  // namespace

Result<std::string> Render(const Template& tpl, const Dict& globals, const EvalLimits& limits) {
  Evaluator ev(globals, limits);
  return ev.Run(tpl);
}

}  // namespace floe::jinja
