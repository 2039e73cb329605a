// The syntax tree of a parsed chat template (Jinja2 subset). Built by ParseTemplate
// (jinja_parser.h), walked by the evaluator (jinja_eval.h). Nodes own their children.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/chat/jinja_value.h"

namespace floe::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,  // literal
    kName,     // name
    kList,     // items
    kTuple,    // items (a list value)
    kDict,     // keys[i] : items[i]
    kNot,      // a
    kNeg,      // a
    kPos,      // a
    kBinary,   // a op b: + - * / // % ** ~
    kAnd,      // a and b
    kOr,       // a or b
    kCompare,  // a (ops[i] items[i])...: == != < <= > >= in notin
    kCond,     // a if b else c (c may be null)
    kGetAttr,  // a.name
    kGetItem,  // a[b]
    kSlice,    // a[b:c:d] (any of b, c, d may be null)
    kCall,     // a(items..., kwargs...)
    kFilter,   // a | name(items..., kwargs...)
    kTest,     // a is [not] name(items...)   (negate)
  };
  Kind kind = Kind::kLiteral;
  int line = 0;
  Value literal;
  std::string name;  // name / attribute / operator / filter / test
  ExprPtr a, b, c, d;
  std::vector<ExprPtr> items;
  std::vector<ExprPtr> keys;
  std::vector<std::string> ops;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  bool negate = false;
};

struct Node;
using Body = std::vector<std::unique_ptr<Node>>;

struct Node {
  enum class Kind {
    kText,      // text
    kOutput,    // {{ expr }}
    kIf,        // conds[i] -> bodies[i]; else_body
    kFor,       // for targets in expr [if cond] body [else else_body]
    kSet,       // set targets = expr   |  set target.attr = expr (attr non-empty)
    kSetBlock,  // set target %}body{% endset  (filters applied as filter_expr on a placeholder)
    kMacro,     // macro name(params) body
    kBreak,
    kContinue,
  };
  Kind kind = Kind::kText;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr cond;
  std::vector<ExprPtr> conds;
  std::vector<Body> bodies;
  Body body;
  Body else_body;
  std::vector<std::string> targets;
  std::string attr;
  std::string name;
  std::vector<std::pair<std::string, ExprPtr>> params;  // macro parameters with defaults
};

struct Template {
  Body body;
};

}  // namespace floe::jinja
