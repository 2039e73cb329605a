// Tokenizer of the chat-template renderer's Jinja2 subset. It applies the whitespace rules that
// Hugging Face's apply_chat_template configures (trim_blocks=True, lstrip_blocks=True,
// keep_trailing_newline=False) and the explicit controls `{%-`, `-%}`, `{{-`, `-}}`, `{#-`, `-#}`
// while it cuts the source into text and tag tokens, exactly as jinja2's lexer does:
//   - "\r\n" and "\r" in the source become "\n"; one trailing "\n" of the source is dropped;
//   - trim_blocks drops the one "\n" right after `%}` or `#}` (not after `}}`);
//   - lstrip_blocks drops spaces/tabs between a line start and `{%` or `{#` (not `{{`);
//   - a `-` next to a delimiter drops all whitespace on that side; `+` disables lstrip.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "platform/base/status.h"

namespace floe::jinja {

struct Token {
  enum class Kind {
    kText,        // literal output (value)
    kVarBegin,    // {{
    kVarEnd,      // }}
    kBlockBegin,  // {%
    kBlockEnd,    // %}
    kName,        // identifiers and keywords (value)
    kString,      // string literal, escapes decoded (value)
    kInt,         // (int_value)
    kFloat,       // (float_value)
    kOp,          // operators and punctuation (value: "+", "//", "(", ...)
    kEof,
  };
  Kind kind = Kind::kEof;
  std::string value;
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
};

// Errors: kInvalidArgument "template line N: ..." (unclosed tag, comment or string, bad
// character, unbalanced brackets inside a tag).
Result<std::vector<Token>> Tokenize(std::string_view source);

}  // namespace floe::jinja
