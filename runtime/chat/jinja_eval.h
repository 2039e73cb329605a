// Evaluator of a parsed chat template (jinja_parser.h). Scoping follows jinja2: `for` bodies and
// macro calls get their own scope (a `set` inside them is not seen outside), `if` does not;
// namespace() objects carry values out of loops. Hostile templates are bounded: every statement
// and expression costs one step of a budget, output and every built string/list are capped, macro
// calls nest at most max_call_depth deep and values at most max_value_depth deep, so rendering
// always ends, with an error value rather than an abort or unbounded recursion.
#pragma once

#include <cstdint>
#include <string>

#include "platform/base/status.h"
#include "runtime/chat/jinja_ast.h"
#include "runtime/chat/jinja_builtins.h"

namespace floe::jinja {

struct EvalLimits {
  uint64_t max_steps = 10'000'000;
  size_t max_output_bytes = size_t(16) << 20;
  int max_call_depth = 32;
  int max_value_depth = 160;
  BuiltinLimits builtins;
};

// Renders `tpl` with `globals` (variables and functions such as raise_exception) visible to the
// whole template, in addition to range(), namespace() and dict(). Errors: kInvalidArgument
// "template line N: ..." (type errors, undefined values used, raise_exception's message, a limit
// exceeded).
Result<std::string> Render(const Template& tpl, const Dict& globals, const EvalLimits& limits);

}  // namespace floe::jinja
