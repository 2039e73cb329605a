// Chat templates (Jinja2 subset; untrusted: they come from model files). The input is the
// template, then optionally a NUL byte and a JSON messages array; without one (or when it does
// not parse) a fixed conversation with system, user, assistant and tool-call messages is
// rendered. Limits are lowered from the defaults so one input costs milliseconds, not a second.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "runtime/chat/chat_template.h"
#include "runtime/formats/checkpoint/json.h"

namespace {
const floe::JsonValue& DefaultMessages() {
  static const floe::JsonValue v = [] {
    auto r = floe::ParseJson(R"([
      {"role": "system", "content": "You are terse."},
      {"role": "user", "content": "Hi \u00e9 <b>"},
      {"role": "assistant", "content": "Hello", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": {"x": [1, 2.5, null]}}}]},
      {"role": "tool", "content": "42"},
      {"role": "user", "content": [{"type": "text", "text": "and?"}]}
    ])");
    if (!r.ok()) __builtin_trap();
    return std::move(r).value();
  }();
  return v;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* text = reinterpret_cast<const char*>(data);
  const void* nul = std::memchr(text, 0, size);
  size_t tpl_size = nul != nullptr ? size_t(static_cast<const char*>(nul) - text) : size;
  std::string_view tpl(text, tpl_size);
  floe::ChatRenderLimits limits;
  limits.max_steps = 100'000;
  limits.max_output_bytes = size_t(1) << 20;
  limits.max_string_bytes = size_t(1) << 20;
  limits.max_list_items = size_t(1) << 16;
  floe::ChatTemplateInputs inputs;
  inputs.bos_token = "<s>";
  inputs.eos_token = "</s>";
  inputs.strftime_now = "05 Dec 2026";
  const floe::JsonValue* messages = &DefaultMessages();
  floe::Result<floe::JsonValue> parsed = floe::JsonValue::Null();
  if (nul != nullptr) {
    parsed = floe::ParseJson(std::string_view(text + tpl_size + 1, size - tpl_size - 1));
    if (parsed.ok()) messages = &*parsed;
  }
  (void)floe::CheckChatTemplate(tpl, limits);
  (void)floe::RenderChatTemplate(tpl, *messages, inputs, limits);
  return 0;
}
