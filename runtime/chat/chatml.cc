#include "runtime/chat/chatml.h"

namespace floe {

Result<std::string> ChatContentText(const JsonValue& content) {
  if (content.is_null()) return std::string();
  if (content.is_string()) return content.string_value();
  if (!content.is_array())
    return InvalidArgument(std::string("content: expected a string or an array, got ") +
                           JsonValue::TypeName(content.type()));
  std::string text;
  for (const JsonValue& part : content.items()) {
    if (!part.is_object()) return InvalidArgument("content: a part is not an object");
    const JsonValue* t = part.Find("text");
    if (!t) continue;  // image / audio parts carry no text
    if (!t->is_string()) return InvalidArgument("content: a part's text is not a string");
    text += t->string_value();
  }
  return text;
}

Result<std::string> RenderChatML(const JsonValue& messages, bool add_generation_prompt) {
  if (!messages.is_array())
    return InvalidArgument("messages: expected an array of message objects");
  std::string out;
  size_t index = 0;
  for (const JsonValue& m : messages.items()) {
    const std::string where = "messages[" + std::to_string(index++) + "]";
    if (!m.is_object()) return InvalidArgument(where + ": expected an object");
    auto role = m.GetString("role");
    if (!role.ok()) return InvalidArgument(where + ": " + role.status().message());
    const JsonValue* content = m.Find("content");
    std::string text;
    if (content) {
      auto t = ChatContentText(*content);
      if (!t.ok()) return InvalidArgument(where + "." + t.status().message());
      text = std::move(*t);
    }
    out += "<|im_start|>";
    out += *role;
    out += '\n';
    out += text;
    out += "<|im_end|>\n";
  }
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace floe
