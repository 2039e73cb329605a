// Chat templates: renders a conversation with a model's Jinja chat template
// (tokenizer.chat_template) the way Hugging Face's apply_chat_template does (jinja2 with
// trim_blocks, lstrip_blocks and loopcontrols; tojson without ASCII escaping), using the Jinja2
// subset of this folder (docs/chat-templates.md). An empty template renders ChatML (chatml.h).
//
// Templates are untrusted input (they come from model files): rendering never aborts, throws or
// recurses without bound; ChatRenderLimits bounds the work, and any limit hit is an error value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "platform/base/status.h"
#include "runtime/formats/checkpoint/json.h"

namespace floe {

struct ChatRenderLimits {
  size_t max_template_bytes = size_t(1) << 20;  // template source size
  int max_nesting_depth = 64;       // blocks + expression nesting in the parser (it recurses)
  uint64_t max_steps = 10'000'000;  // statements + expressions evaluated (~1 s at most)
  size_t max_output_bytes = size_t(16) << 20;  // the rendered text (and each macro's output)
  size_t max_string_bytes = size_t(16) << 20;  // any one string value built while rendering
  size_t max_list_items = size_t(1) << 20;     // any one list value (range(), `*`, `+`, filters)
  int max_macro_depth = 32;                    // macro calls nested in each other (recursion)
  int max_value_depth = 160;  // lists/dicts nested in each other (JSON input allows 128)
};

// The template's variables besides `messages`.
struct ChatTemplateInputs {
  std::string bos_token;
  std::string eos_token;
  bool add_generation_prompt = true;
  // What strftime_now(format) returns; nullopt: the current local date and time formatted with
  // the format the template passes (C strftime).
  std::optional<std::string> strftime_now;
};

// messages: a JSON array of message objects, passed to the template as they are (role, content,
// and any other members such as tool_calls). raise_exception(msg) in the template is a
// kInvalidArgument whose message ends with msg; syntax errors, undefined values used as values,
// type errors and exceeded limits are kInvalidArgument naming the template line.
Result<std::string> RenderChatTemplate(std::string_view template_text, const JsonValue& messages,
                                       const ChatTemplateInputs& inputs,
                                       const ChatRenderLimits& limits = {});

// Checks a template's syntax (and its size and nesting limits) without rendering it.
Status CheckChatTemplate(std::string_view template_text, const ChatRenderLimits& limits = {});

}  // namespace floe
