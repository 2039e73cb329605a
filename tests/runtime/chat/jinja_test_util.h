// Renders a template over a JSON messages text for the chat tests.
#pragma once

#include <string>

#include "runtime/chat/chat_template.h"
#include "runtime/formats/checkpoint/json.h"

namespace floe::testing {

inline Result<std::string> RenderT(const std::string& tpl, const std::string& messages_json = "[]",
                                   const ChatRenderLimits& limits = {},
                                   ChatTemplateInputs in = {}) {
  auto m = ParseJson(messages_json);
  if (!m.ok()) return m.status();
  if (!in.strftime_now) in.strftime_now = "26 Jul 2024";
  return RenderChatTemplate(tpl, *m, in, limits);
}

// The rendered text, or "ERROR: <message>".
inline std::string Render(const std::string& tpl, const std::string& messages_json = "[]") {
  auto r = RenderT(tpl, messages_json);
  return r.ok() ? *r : "ERROR: " + r.status().message();
}

}  // namespace floe::testing
