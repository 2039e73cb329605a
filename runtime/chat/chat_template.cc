#include "runtime/chat/chat_template.h"

#include <ctime>

#include "runtime/chat/chatml.h"
#include "runtime/chat/jinja_eval.h"
#include "runtime/chat/jinja_parser.h"

namespace floe {

namespace {

Result<jinja::Template> Parse(std::string_view text, const ChatRenderLimits& limits) {
  if (text.size() > limits.max_template_bytes)
    return InvalidArgument("chat template: " + std::to_string(text.size()) +
                           " bytes, more than the limit of " +
                           std::to_string(limits.max_template_bytes));
  auto tpl = jinja::ParseTemplate(text, limits.max_nesting_depth);
  if (!tpl.ok()) return InvalidArgument("chat template: " + tpl.status().message());
  return tpl;
}

std::string Today(const std::string& format) {
  if (format.empty() || format.size() > 256) return "";
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[512];
  const size_t n = std::strftime(buf, sizeof buf, format.c_str(), &tm);
  return std::string(buf, n);
}

}  // namespace

Status CheckChatTemplate(std::string_view template_text, const ChatRenderLimits& limits) {
  auto tpl = Parse(template_text, limits);
  return tpl.ok() ? Status::Ok() : tpl.status();
}

Result<std::string> RenderChatTemplate(std::string_view template_text, const JsonValue& messages,
                                       const ChatTemplateInputs& inputs,
                                       const ChatRenderLimits& limits) {
  if (template_text.empty()) return RenderChatML(messages, inputs.add_generation_prompt);
  if (!messages.is_array())
    return InvalidArgument("messages: expected an array of message objects");
  FLOE_ASSIGN_OR_RETURN(jinja::Template tpl, Parse(template_text, limits));
  using jinja::Value;
  jinja::Dict globals;
  globals.Set("messages", Value::FromJson(messages));
  globals.Set("bos_token", Value::String(inputs.bos_token));
  globals.Set("eos_token", Value::String(inputs.eos_token));
  globals.Set("add_generation_prompt", Value::Bool(inputs.add_generation_prompt));
  globals.Set("raise_exception",
              Value::Function("raise_exception", [](jinja::CallArgs& a) -> Result<Value> {
                const std::string msg = a.pos.empty() ? "" : a.pos[0].ToString(4096);
                return InvalidArgument("raise_exception: " + msg);
              }));
  const std::optional<std::string> fixed = inputs.strftime_now;
  globals.Set("strftime_now",
              Value::Function("strftime_now", [fixed](jinja::CallArgs& a) -> Result<Value> {
                if (fixed) return Value::String(*fixed);
                const jinja::Value* f = a.Get(0, "format");
                return Value::String(Today(f && f->is_string() ? f->str() : ""));
              }));
  jinja::EvalLimits el;
  el.max_steps = limits.max_steps;
  el.max_output_bytes = limits.max_output_bytes;
  el.max_call_depth = limits.max_macro_depth;
  el.max_value_depth = limits.max_value_depth;
  el.builtins.max_string_bytes = limits.max_string_bytes;
  el.builtins.max_items = limits.max_list_items;
  auto out = jinja::Render(tpl, globals, el);
  if (!out.ok()) return InvalidArgument("chat template: " + out.status().message());
  return out;
}

}  // namespace floe
