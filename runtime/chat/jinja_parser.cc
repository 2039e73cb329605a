#include "runtime/chat/jinja_parser.h"

#include <initializer_list>

#include "runtime/chat/jinja_lexer.h"

namespace floe::jinja {

namespace {

using K = Token::Kind;

class Parser {
 public:
  Parser(std::vector<Token> tokens, int max_depth) : t_(std::move(tokens)), max_depth_(max_depth) {}

  Result<Template> Run() {
    Template tpl;
    std::string end;
    FLOE_RETURN_IF_ERROR(ParseBody(&tpl.body, {}, &end));
    return tpl;
  }

 private:
  // ---- token helpers ----
  const Token& Cur() const { return t_[i_]; }
  const Token& Peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  void Next() {
    if (i_ + 1 < t_.size()) ++i_;
  }
  bool IsOp(std::string_view op) const { return Cur().kind == K::kOp && Cur().value == op; }
  bool IsName(std::string_view n) const { return Cur().kind == K::kName && Cur().value == n; }
  bool SkipOp(std::string_view op) {
    if (!IsOp(op)) return false;
    Next();
    return true;
  }
  bool SkipName(std::string_view n) {
    if (!IsName(n)) return false;
    Next();
    return true;
  }
  Status Err(const std::string& what) const {
    return InvalidArgument("template line " + std::to_string(Cur().line) + ": " + what);
  }
  std::string Describe() const {
    switch (Cur().kind) {
      case K::kEof:
        return "end of template";
      case K::kBlockEnd:
        return "'%}'";
      case K::kVarEnd:
        return "'}}'";
      case K::kText:
        return "text";
      case K::kString:
        return "a string";
      case K::kInt:
      case K::kFloat:
        return "a number";
      default:
        return "'" + Cur().value + "'";
    }
  }
  Status ExpectOp(std::string_view op) {
    if (SkipOp(op)) return Status::Ok();
    return Err("expected '" + std::string(op) + "', got " + Describe());
  }
  Status ExpectBlockEnd() {
    if (Cur().kind == K::kBlockEnd) {
      Next();
      return Status::Ok();
    }
    return Err("expected '%}', got " + Describe());
  }
  Result<std::string> ExpectName() {
    if (Cur().kind != K::kName) return Err("expected a name, got " + Describe());
    std::string n = Cur().value;
    Next();
    return n;
  }
  Status Enter() {
    if (++depth_ > max_depth_)
      return Err("nested too deeply (more than " + std::to_string(max_depth_) + " levels)");
    return Status::Ok();
  }
  struct DepthGuard {
    int* d;
    ~DepthGuard() { --*d; }
  };

  ExprPtr Make(Expr::Kind k, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = line;
    return e;
  }

  // ---- statements ----
  // Parses nodes until a block tag whose name is in `ends` (left unconsumed after the name: *end
  // holds it, Cur() is the token after the name) or the end of the template (ends empty).
  Status ParseBody(Body* body, std::initializer_list<std::string_view> ends, std::string* end) {
    FLOE_RETURN_IF_ERROR(Enter());
    DepthGuard g{&depth_};
    while (true) {
      const Token& tok = Cur();
      if (tok.kind == K::kEof) {
        if (ends.size() == 0) return Status::Ok();
        std::string list;
        for (auto e : ends) list += (list.empty() ? "'" : " or '") + std::string(e) + "'";
        return Err("unexpected end of template, expected " + list + " (unclosed block)");
      }
      if (tok.kind == K::kText) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kText;
        n->text = tok.value;
        body->push_back(std::move(n));
        Next();
        continue;
      }
      if (tok.kind == K::kVarBegin) {
        auto n = std::make_unique<Node>();
        n->kind = Node::Kind::kOutput;
        n->line = tok.line;
        Next();
        FLOE_ASSIGN_OR_RETURN(n->expr, ParseTupleExpr(true));
        if (Cur().kind != K::kVarEnd) return Err("expected '}}', got " + Describe());
        Next();
        body->push_back(std::move(n));
        continue;
      }
      if (tok.kind != K::kBlockBegin) return Err("unexpected " + Describe());
      Next();
      if (Cur().kind != K::kName) return Err("expected a tag name, got " + Describe());
      const std::string tag = Cur().value;
      for (auto e : ends)
        if (tag == e) {
          *end = tag;
          Next();
          return Status::Ok();
        }
      Next();
      FLOE_RETURN_IF_ERROR(ParseStatement(tag, body));
    }
  }

  Status ParseStatement(const std::string& tag, Body* body) {
    const int line = Cur().line;
    auto n = std::make_unique<Node>();
    n->line = line;
    std::string end;
    if (tag == "if") {
      n->kind = Node::Kind::kIf;
      while (true) {
        FLOE_ASSIGN_OR_RETURN(ExprPtr cond, ParseTupleExpr(true));
        FLOE_RETURN_IF_ERROR(ExpectBlockEnd());
        Body b;
        FLOE_RETURN_IF_ERROR(ParseBody(&b, {"elif", "else", "endif"}, &end));
        n->conds.push_back(std::move(cond));
        n->bodies.push_back(std::move(b));
        if (end == "elif") continue;
        if (end == "else") {
          FLOE_RETURN_IF_ERROR(ExpectBlockEnd());
          FLOE_RETURN_IF_ERROR(ParseBody(&n->else_body, {"endif"}, &end));
        }
        break;
      }
    } else if (tag == "for") {
      n->kind = Node::Kind::kFor;
      do {
        FLOE_ASSIGN_OR_RETURN(std::string t, ExpectName());
        n->targets.push_back(t);
      } while (SkipOp(","));
      if (!SkipName("in")) return Err("expected 'in' in for loop, got " + Describe());
      FLOE_ASSIGN_OR_RETURN(n->expr, ParseTupleExpr(false));
      if (SkipName("if")) {
        FLOE_ASSIGN_OR_RETURN(n->cond, ParseExpr(true));
      }
      if (IsName("recursive")) return Err("recursive for loops are not supported");
      FLOE_RETURN_IF_ERROR(ExpectBlockEnd());
      FLOE_RETURN_IF_ERROR(ParseBody(&n->body, {"else", "endfor"}, &end));
      if (end == "else") {
        FLOE_RETURN_IF_ERROR(ExpectBlockEnd());
        FLOE_RETURN_IF_ERROR(ParseBody(&n->else_body, {"endfor"}, &end));
      }
    } else if (tag == "set") {
      FLOE_ASSIGN_OR_RETURN(std::string t, ExpectName());
      n->targets.push_back(t);
      if (SkipOp(".")) {
        FLOE_ASSIGN_OR_RETURN(n->attr, ExpectName());
      } else {
        while (SkipOp(",")) {
          FLOE_ASSIGN_OR_RETURN(std::string more, ExpectName());
          n->targets.push_back(more);
        }
      }
      if (SkipOp("=")) {
        n->kind = Node::Kind::kSet;
        FLOE_ASSIGN_OR_RETURN(n->expr, ParseTupleExpr(true));
      } else {
        if (n->targets.size() != 1 || !n->attr.empty())
          return Err("a block set takes one plain name");
        if (IsOp("|")) return Err("filters on a block set are not supported");
        n->kind = Node::Kind::kSetBlock;
        FLOE_RETURN_IF_ERROR(ExpectBlockEnd());
        FLOE_RETURN_IF_ERROR(ParseBody(&n->body, {"endset"}, &end));
      }
    } else if (tag == "macro") {
      n->kind = Node::Kind::kMacro;
      FLOE_ASSIGN_OR_RETURN(n->name, ExpectName());
      FLOE_RETURN_IF_ERROR(ExpectOp("("));
      while (!SkipOp(")")) {
        if (!n->params.empty()) FLOE_RETURN_IF_ERROR(ExpectOp(","));
        if (SkipOp(")")) break;
        FLOE_ASSIGN_OR_RETURN(std::string p, ExpectName());
        ExprPtr def;
        if (SkipOp("=")) {
          FLOE_ASSIGN_OR_RETURN(def, ParseExpr(true));
        }
        n->params.emplace_back(p, std::move(def));
      }
      FLOE_RETURN_IF_ERROR(ExpectBlockEnd());
      FLOE_RETURN_IF_ERROR(ParseBody(&n->body, {"endmacro"}, &end));
    } else if (tag == "break" || tag == "continue") {
      n->kind = tag == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
    } else {
      return InvalidArgument("template line " + std::to_string(line) + ": unknown tag '" + tag +
                             "'");
    }
    // Closing tags may repeat the name ({% endmacro name %}) in jinja2; only the tag is checked.
    if (n->kind == Node::Kind::kMacro && Cur().kind == K::kName) Next();
    FLOE_RETURN_IF_ERROR(ExpectBlockEnd());
    body->push_back(std::move(n));
    return Status::Ok();
  }

  // ---- expressions ----
  // An expression, or a tuple of them ("a, b") when commas follow.
  Result<ExprPtr> ParseTupleExpr(bool with_cond) {
    const int line = Cur().line;
    FLOE_ASSIGN_OR_RETURN(ExprPtr first, ParseExpr(with_cond));
    if (!IsOp(",")) return first;
    auto t = Make(Expr::Kind::kTuple, line);
    t->items.push_back(std::move(first));
    while (SkipOp(",")) {
      if (Cur().kind == K::kBlockEnd || Cur().kind == K::kVarEnd || IsOp(")")) break;
      FLOE_ASSIGN_OR_RETURN(ExprPtr e, ParseExpr(with_cond));
      t->items.push_back(std::move(e));
    }
    return t;
  }

  Result<ExprPtr> ParseExpr(bool with_cond) {
    FLOE_RETURN_IF_ERROR(Enter());
    DepthGuard g{&depth_};
    const int line = Cur().line;
    FLOE_ASSIGN_OR_RETURN(ExprPtr e, ParseOr());
    while (with_cond && IsName("if")) {
      Next();
      auto c = Make(Expr::Kind::kCond, line);
      c->a = std::move(e);
      FLOE_ASSIGN_OR_RETURN(c->b, ParseOr());
      if (SkipName("else")) {
        FLOE_ASSIGN_OR_RETURN(c->c, ParseExpr(true));
      }
      e = std::move(c);
    }
    return e;
  }

  Result<ExprPtr> ParseOr() {
    FLOE_ASSIGN_OR_RETURN(ExprPtr e, ParseAnd());
    while (IsName("or")) {
      auto n = Make(Expr::Kind::kOr, Cur().line);
      Next();
      n->a = std::move(e);
      FLOE_ASSIGN_OR_RETURN(n->b, ParseAnd());
      e = std::move(n);
    }
    return e;
  }

  Result<ExprPtr> ParseAnd() {
    FLOE_ASSIGN_OR_RETURN(ExprPtr e, ParseNot());
    while (IsName("and")) {
      auto n = Make(Expr::Kind::kAnd, Cur().line);
      Next();
      n->a = std::move(e);
      FLOE_ASSIGN_OR_RETURN(n->b, ParseNot());
      e = std::move(n);
    }
    return e;
  }

  Result<ExprPtr> ParseNot() {
    if (IsName("not")) {
      FLOE_RETURN_IF_ERROR(Enter());
      DepthGuard g{&depth_};
      auto n = Make(Expr::Kind::kNot, Cur().line);
      Next();
      FLOE_ASSIGN_OR_RETURN(n->a, ParseNot());
      return n;
    }
    return ParseCompare();
  }

  Result<ExprPtr> ParseCompare() {
    const int line = Cur().line;
    FLOE_ASSIGN_OR_RETURN(ExprPtr e, ParseMath1());
    ExprPtr cmp;
    while (true) {
      std::string op;
      if (Cur().kind == K::kOp &&
          (Cur().value == "==" || Cur().value == "!=" || Cur().value == "<" ||
           Cur().value == "<=" || Cur().value == ">" || Cur().value == ">=")) {
        op = Cur().value;
        Next();
      } else if (IsName("in")) {
        op = "in";
        Next();
      } else if (IsName("not") && Peek().kind == K::kName && Peek().value == "in") {
        op = "notin";
        Next();
        Next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = Make(Expr::Kind::kCompare, line);
        cmp->a = std::move(e);
      }
      cmp->ops.push_back(op);
      FLOE_ASSIGN_OR_RETURN(ExprPtr rhs, ParseMath1());
      cmp->items.push_back(std::move(rhs));
    }
    return cmp ? std::move(cmp) : std::move(e);
  }

  Result<ExprPtr> Binary(ExprPtr lhs, std::string op, ExprPtr rhs, int line) {
    auto n = Make(Expr::Kind::kBinary, line);
    n->name = std::move(op);
    n->a = std::move(lhs);
    n->b = std::move(rhs);
    return n;
  }

  Result<ExprPtr> ParseMath1() {
    FLOE_ASSIGN_OR_RETURN(ExprPtr e, ParseConcat());
    while (IsOp("+") || IsOp("-")) {
      const std::string op = Cur().value;
      const int line = Cur().line;
      Next();
      FLOE_ASSIGN_OR_RETURN(ExprPtr r, ParseConcat());
      FLOE_ASSIGN_OR_RETURN(e, Binary(std::move(e), op, std::move(r), line));
    }
    return e;
  }

  Result<ExprPtr> ParseConcat() {
    FLOE_ASSIGN_OR_RETURN(ExprPtr e, ParseMath2());
    while (IsOp("~")) {
      const int line = Cur().line;
      Next();
      FLOE_ASSIGN_OR_RETURN(ExprPtr r, ParseMath2());
      FLOE_ASSIGN_OR_RETURN(e, Binary(std::move(e), "~", std::move(r), line));
    }
    return e;
  }

  Result<ExprPtr> ParseMath2() {
    FLOE_ASSIGN_OR_RETURN(ExprPtr e, ParsePow());
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const std::string op = Cur().value;
      const int line = Cur().line;
      Next();
      FLOE_ASSIGN_OR_RETURN(ExprPtr r, ParsePow());
      FLOE_ASSIGN_OR_RETURN(e, Binary(std::move(e), op, std::move(r), line));
    }
    return e;
  }

  Result<ExprPtr> ParsePow() {
    FLOE_ASSIGN_OR_RETURN(ExprPtr e, ParseUnary(true));
    while (IsOp("**")) {
      const int line = Cur().line;
      Next();
      FLOE_ASSIGN_OR_RETURN(ExprPtr r, ParseUnary(true));
      FLOE_ASSIGN_OR_RETURN(e, Binary(std::move(e), "**", std::move(r), line));
    }
    return e;
  }

  Result<ExprPtr> ParseUnary(bool with_filter) {
    FLOE_RETURN_IF_ERROR(Enter());
    DepthGuard g{&depth_};
    ExprPtr e;
    if (IsOp("-") || IsOp("+")) {
      e = Make(IsOp("-") ? Expr::Kind::kNeg : Expr::Kind::kPos, Cur().line);
      Next();
      FLOE_ASSIGN_OR_RETURN(e->a, ParseUnary(false));
    } else {
      FLOE_ASSIGN_OR_RETURN(e, ParsePrimary());
      FLOE_ASSIGN_OR_RETURN(e, ParsePostfix(std::move(e)));
    }
    if (with_filter) return ParseFilterExpr(std::move(e));
    return e;
  }

  Result<ExprPtr> ParsePrimary() {
    const Token& tok = Cur();
    const int line = tok.line;
    switch (tok.kind) {
      case K::kName: {
        const std::string& n = tok.value;
        auto e = Make(Expr::Kind::kLiteral, line);
        if (n == "true" || n == "True")
          e->literal = Value::Bool(true);
        else if (n == "false" || n == "False")
          e->literal = Value::Bool(false);
        else if (n == "none" || n == "None")
          e->literal = Value::None();
        else {
          e->kind = Expr::Kind::kName;
          e->name = n;
        }
        Next();
        return e;
      }
      case K::kString: {
        std::string s;
        while (Cur().kind == K::kString) {  // adjacent literals concatenate
          s += Cur().value;
          Next();
        }
        auto e = Make(Expr::Kind::kLiteral, line);
        e->literal = Value::String(std::move(s));
        return e;
      }
      case K::kInt:
      case K::kFloat: {
        auto e = Make(Expr::Kind::kLiteral, line);
        e->literal =
            tok.kind == K::kInt ? Value::Int(tok.int_value) : Value::Float(tok.float_value);
        Next();
        return e;
      }
      case K::kOp:
        if (tok.value == "(") {
          Next();
          if (SkipOp(")")) return Make(Expr::Kind::kTuple, line);
          FLOE_ASSIGN_OR_RETURN(ExprPtr e, ParseTupleExpr(true));
          FLOE_RETURN_IF_ERROR(ExpectOp(")"));
          return e;
        }
        if (tok.value == "[") {
          Next();
          auto e = Make(Expr::Kind::kList, line);
          while (!SkipOp("]")) {
            if (!e->items.empty()) FLOE_RETURN_IF_ERROR(ExpectOp(","));
            if (SkipOp("]")) break;
            FLOE_ASSIGN_OR_RETURN(ExprPtr x, ParseExpr(true));
            e->items.push_back(std::move(x));
          }
          return e;
        }
        if (tok.value == "{") {
          Next();
          auto e = Make(Expr::Kind::kDict, line);
          while (!SkipOp("}")) {
            if (!e->items.empty()) FLOE_RETURN_IF_ERROR(ExpectOp(","));
            if (SkipOp("}")) break;
            FLOE_ASSIGN_OR_RETURN(ExprPtr k, ParseExpr(true));
            FLOE_RETURN_IF_ERROR(ExpectOp(":"));
            FLOE_ASSIGN_OR_RETURN(ExprPtr v, ParseExpr(true));
            e->keys.push_back(std::move(k));
            e->items.push_back(std::move(v));
          }
          return e;
        }
        break;
      default:
        break;
    }
    return Err("unexpected " + Describe() + " in an expression");
  }

  Result<ExprPtr> ParsePostfix(ExprPtr e) {
    while (true) {
      const int line = Cur().line;
      if (IsOp(".")) {
        Next();
        auto n = Make(Expr::Kind::kGetAttr, line);
        if (Cur().kind == K::kName) {
          n->name = Cur().value;
        } else if (Cur().kind == K::kInt) {
          n->kind = Expr::Kind::kGetItem;
          n->b = Make(Expr::Kind::kLiteral, line);
          n->b->literal = Value::Int(Cur().int_value);
        } else {
          return Err("expected an attribute name after '.', got " + Describe());
        }
        Next();
        n->a = std::move(e);
        e = std::move(n);
      } else if (IsOp("[")) {
        Next();
        FLOE_ASSIGN_OR_RETURN(e, ParseSubscript(std::move(e), line));
      } else if (IsOp("(")) {
        FLOE_ASSIGN_OR_RETURN(e, ParseCall(std::move(e), Expr::Kind::kCall, ""));
      } else {
        return e;
      }
    }
  }

  Result<ExprPtr> ParseSubscript(ExprPtr target, int line) {
    ExprPtr parts[3];
    int colons = 0;
    while (!IsOp("]")) {
      if (SkipOp(":")) {
        if (++colons > 2) return Err("too many ':' in a slice");
        continue;
      }
      if (parts[colons]) return Err("expected ']' or ':', got " + Describe());
      FLOE_ASSIGN_OR_RETURN(parts[colons], ParseExpr(true));
    }
    Next();
    if (colons == 0) {
      if (!parts[0]) return Err("empty subscript");
      auto n = Make(Expr::Kind::kGetItem, line);
      n->a = std::move(target);
      n->b = std::move(parts[0]);
      return n;
    }
    auto n = Make(Expr::Kind::kSlice, line);
    n->a = std::move(target);
    n->b = std::move(parts[0]);
    n->c = std::move(parts[1]);
    n->d = std::move(parts[2]);
    return n;
  }

  // Parses "(args)" after `callee` (kCall) or fills a filter/test node's arguments.
  Result<ExprPtr> ParseCall(ExprPtr callee, Expr::Kind kind, std::string name) {
    auto n = Make(kind, Cur().line);
    n->a = std::move(callee);
    n->name = std::move(name);
    FLOE_RETURN_IF_ERROR(ExpectOp("("));
    bool first = true;
    while (!SkipOp(")")) {
      if (!first) FLOE_RETURN_IF_ERROR(ExpectOp(","));
      first = false;
      if (SkipOp(")")) break;
      if (Cur().kind == K::kName && Peek().kind == K::kOp && Peek().value == "=") {
        std::string key = Cur().value;
        Next();
        Next();
        FLOE_ASSIGN_OR_RETURN(ExprPtr v, ParseExpr(true));
        n->kwargs.emplace_back(std::move(key), std::move(v));
      } else {
        if (!n->kwargs.empty()) return Err("positional argument after a keyword argument");
        FLOE_ASSIGN_OR_RETURN(ExprPtr v, ParseExpr(true));
        n->items.push_back(std::move(v));
      }
    }
    return n;
  }

  Result<std::string> DottedName() {
    FLOE_ASSIGN_OR_RETURN(std::string n, ExpectName());
    while (IsOp(".") && Peek().kind == K::kName) {
      Next();
      n += "." + Cur().value;
      Next();
    }
    return n;
  }

  Result<ExprPtr> ParseFilterExpr(ExprPtr e) {
    while (true) {
      const int line = Cur().line;
      if (IsOp("|")) {
        Next();
        FLOE_ASSIGN_OR_RETURN(std::string name, DottedName());
        if (!IsKnownFilter(name))
          return InvalidArgument("template line " + std::to_string(line) + ": no filter named '" +
                                 name + "'");
        if (IsOp("(")) {
          FLOE_ASSIGN_OR_RETURN(e, ParseCall(std::move(e), Expr::Kind::kFilter, name));
        } else {
          auto n = Make(Expr::Kind::kFilter, line);
          n->a = std::move(e);
          n->name = name;
          e = std::move(n);
        }
      } else if (IsName("is")) {
        Next();
        const bool negate = SkipName("not");
        FLOE_ASSIGN_OR_RETURN(std::string name, DottedName());
        if (!IsKnownTest(name))
          return InvalidArgument("template line " + std::to_string(line) + ": no test named '" +
                                 name + "'");
        ExprPtr n;
        if (IsOp("(")) {
          FLOE_ASSIGN_OR_RETURN(n, ParseCall(std::move(e), Expr::Kind::kTest, name));
        } else {
          n = Make(Expr::Kind::kTest, line);
          n->a = std::move(e);
          n->name = name;
          const Token& c = Cur();
          const bool arg_follows =
              (c.kind == K::kName && c.value != "else" && c.value != "or" && c.value != "and" &&
               c.value != "if" && c.value != "is" && c.value != "not" && c.value != "in") ||
              c.kind == K::kString || c.kind == K::kInt || c.kind == K::kFloat ||
              (c.kind == K::kOp && (c.value == "[" || c.value == "{"));
          if (arg_follows) {
            FLOE_ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
            FLOE_ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
            n->items.push_back(std::move(arg));
          }
        }
        n->negate = negate;
        e = std::move(n);
      } else if (IsOp("(")) {
        FLOE_ASSIGN_OR_RETURN(e, ParseCall(std::move(e), Expr::Kind::kCall, ""));
      } else {
        return e;
      }
    }
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
  int max_depth_;
};

}  // namespace

Result<Template> ParseTemplate(std::string_view source, int max_depth) {
  FLOE_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(source));
  return Parser(std::move(tokens), max_depth).Run();
}

}  // namespace floe::jinja
