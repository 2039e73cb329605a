// Parsing and checking of OpenAI /v1/completions and /v1/chat/completions request bodies.
// Policy on fields (docs/server.md): the fields we implement are checked for type and range;
// OpenAI fields we do not implement are accepted only at their neutral value (n = 1,
// presence_penalty = 0, logprobs = false, echo = false, ...; anything else is a 400 naming the
// field); a field OpenAI does not define is a 400 ("Unrecognized request argument"), except the
// llama.cpp-style sampling extensions top_k, min_p and repeat_penalty.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api_error.h"

namespace floe::serve {

struct CompletionRequest {
  bool chat = false;
  std::string model;          // "" when not given
  std::string prompt;         // completions
  std::string messages_json;  // chat: the messages array, checked, as JSON text
  std::optional<size_t> max_tokens;
  float temperature = 1.0f;
  float top_p = 1.0f;
  std::optional<int32_t> top_k;  // not given: the server's --top-k
  float min_p = 0.0f;
  float repeat_penalty = 1.0f;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
};

// Returns the error to send, or nothing when *out holds a valid request.
std::optional<ApiError> ParseCompletionRequest(const std::string& body, bool chat,
                                               CompletionRequest* out);

}  // namespace floe::serve
