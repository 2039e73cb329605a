// Parser of the chat-template renderer's Jinja2 subset: tokens (jinja_lexer.h) -> Template.
// Statements: if/elif/else, for (tuple targets, `if` filter, else), set (names, tuples,
// namespace attributes, block set), macro, break/continue (jinja2.ext.loopcontrols, which
// Hugging Face enables). Expressions: Jinja2's grammar and precedence (conditional expression,
// or/and/not, comparisons incl. chains and `in`/`not in`, + -, ~, * / // %, **, unary -/+,
// filters, `is` tests, calls, attributes, subscripts and slices, list/tuple/dict literals).
// Unknown tags, filters and tests are errors here, as in jinja2 (which checks at compile time).
#pragma once

#include <string_view>

#include "platform/base/status.h"
#include "runtime/chat/jinja_ast.h"

namespace floe::jinja {

// max_depth bounds nesting of blocks and expressions together (the parser recurses per level).
// Errors: kInvalidArgument "template line N: ..." naming what was expected.
Result<Template> ParseTemplate(std::string_view source, int max_depth);

// The filter and test names the evaluator implements (jinja_filters.cc).
bool IsKnownFilter(std::string_view name);
bool IsKnownTest(std::string_view name);

}  // namespace floe::jinja
