// The C API's chat-template rendering: floe_chat_render over runtime/chat/.
#include <cstring>
#include <string>

#include "runtime/api/c_api_internal.h"
#include "runtime/chat/chat_template.h"
#include "runtime/formats/checkpoint/json.h"

using namespace floe::capi;

extern "C" {

floe_chat_params floe_chat_default_params(void) {
  floe_chat_params p{};
  p.struct_size = sizeof(floe_chat_params);
  p.bos_token = nullptr;
  p.eos_token = nullptr;
  p.add_generation_prompt = 1;
  p.strftime_now = nullptr;
  return p;
}

floe_status floe_chat_render(const char* template_text, const char* messages_json,
                             const floe_chat_params* params, char* out, size_t capacity,
                             size_t* n_bytes) {
  return Guard(nullptr, [&]() -> floe_status {
    if (!messages_json || !n_bytes || (capacity > 0 && !out))
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT,
                  "floe_chat_render: messages_json and n_bytes must not be NULL");
    floe_chat_params p = floe_chat_default_params();
    if (params) {
      if (!SizeOk(params->struct_size, sizeof(floe_chat_params)))
        return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "floe_chat_render: bad struct_size");
      std::memcpy(&p, params, params->struct_size);
    }
    auto messages = floe::ParseJson(messages_json);
    if (!messages.ok())
      return Fail(nullptr, FLOE_ERR_INVALID_ARGUMENT, "messages: " + messages.status().message());
    floe::ChatTemplateInputs inputs;
    if (p.bos_token) inputs.bos_token = p.bos_token;
    if (p.eos_token) inputs.eos_token = p.eos_token;
    inputs.add_generation_prompt = p.add_generation_prompt != 0;
    if (p.strftime_now) inputs.strftime_now = std::string(p.strftime_now);
    auto text = floe::RenderChatTemplate(template_text ? template_text : "", *messages, inputs);
    if (!text.ok()) return Report(nullptr, text.status());
    *n_bytes = text->size();
    if (capacity < text->size()) {
      return Fail(nullptr, FLOE_ERR_OUT_OF_RANGE, "floe_chat_render: buffer too small");
    }
    std::memcpy(out, text->data(), text->size());
    if (capacity > text->size()) out[text->size()] = '\0';
    return FLOE_OK;
  });
}

}  // extern "C"
