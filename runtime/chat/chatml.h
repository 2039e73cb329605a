// The ChatML rendering used for models whose file carries no chat template
// (tokenizer.chat_template): each message becomes
//   "<|im_start|>" role "\n" content "<|im_end|>\n"
// and, when a generation prompt is asked for, "<|im_start|>assistant\n" follows. This is the
// layout Hugging Face's default ChatML template and llama.cpp's "chatml" fallback produce.
#pragma once

#include <string>

#include "platform/base/status.h"
#include "runtime/formats/checkpoint/json.h"

namespace floe {

// The text of a message's "content": a string as is; an array of OpenAI content parts joined
// from their "text" members (parts of other types are skipped); null -> "". Other types are
// kInvalidArgument.
Result<std::string> ChatContentText(const JsonValue& content);

// messages: a JSON array of objects with a string "role" and a "content" (see ChatContentText).
// Errors (kInvalidArgument) name the message index and the field.
Result<std::string> RenderChatML(const JsonValue& messages, bool add_generation_prompt);

}  // namespace floe
