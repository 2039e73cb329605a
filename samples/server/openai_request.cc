#include "openai_request.h"

#include <cmath>
#include <set>

namespace floe::serve {

namespace {

using nlohmann::json;

// Stop strings are matched against the text after every token: bound their length.
constexpr size_t kMaxStopBytes = 256;

const char* TypeName(const json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

ApiError WrongType(const std::string& field, const char* want, const json& v) {
  return BadRequest("'" + field + "' must be " + want + ", not " + TypeName(v), field,
                    "invalid_type");
}

std::optional<ApiError> GetNumber(const json& body, const char* field, double lo, double hi,
                                  float* out) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) return WrongType(field, "a number", *it);
  const double v = it->get<double>();
  if (!std::isfinite(v) || v < lo || v > hi)
    return BadRequest("'" + std::string(field) + "' must be between " + json(lo).dump() + " and " +
                          json(hi).dump() + ", not " + it->dump(),
                      field, "invalid_value");
  *out = float(v);
  return std::nullopt;
}

std::optional<ApiError> GetInteger(const json& body, const char* field, int64_t lo, int64_t hi,
                                   std::optional<int64_t>* out) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) return WrongType(field, "an integer", *it);
  const bool big = it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(hi);
  const int64_t v = big ? hi : it->get<int64_t>();
  if (big || v < lo || v > hi)
    return BadRequest("'" + std::string(field) + "' must be between " + std::to_string(lo) +
                          " and " + std::to_string(hi) + ", not " + it->dump(),
                      field, "invalid_value");
  *out = v;
  return std::nullopt;
}

std::optional<ApiError> GetBool(const json& body, const char* field, bool* out) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) return WrongType(field, "a boolean", *it);
  *out = it->get<bool>();
  return std::nullopt;
}

// An OpenAI field we do not implement: allowed only when null or at its neutral value.
std::optional<ApiError> Neutral(const json& body, const char* field, const json& neutral) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null() || *it == neutral) return std::nullopt;
  if (neutral.is_object() && it->is_object() && it->empty()) return std::nullopt;
  return BadRequest(
      "'" + std::string(field) + "' is not supported by floe-serve (only " + neutral.dump() + ")",
      field, "unsupported_value");
}

std::optional<ApiError> CheckMessages(const json& msgs) {
  static const std::set<std::string> kRoles = {"system", "developer", "user", "assistant", "tool"};
  if (!msgs.is_array()) return WrongType("messages", "an array", msgs);
  if (msgs.empty()) return BadRequest("'messages' must not be empty", "messages", "invalid_value");
  for (size_t i = 0; i < msgs.size(); ++i) {
    const json& m = msgs[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return WrongType(at, "an object", m);
    auto role = m.find("role");
    if (role == m.end() || !role->is_string())
      return BadRequest(at + ".role must be a string", at + ".role", "invalid_type");
    if (!kRoles.count(role->get<std::string>()))
      return BadRequest(
          at + ".role must be system, developer, user, assistant or tool, not " + role->dump(),
          at + ".role", "invalid_value");
    auto content = m.find("content");
    if (content == m.end() || content->is_null()) {
      if (*role == "assistant") continue;  // an assistant turn may carry no text
      return BadRequest(at + ".content is required", at + ".content", "missing_field");
    }
    if (content->is_string()) continue;
    if (!content->is_array())
      return WrongType(at + ".content", "a string or an array of text parts", *content);
    for (const json& part : *content) {
      auto type = part.is_object() ? part.find("type") : part.end();
      auto text = part.is_object() ? part.find("text") : part.end();
      if (type == part.end() || *type != "text" || text == part.end() || !text->is_string())
        return BadRequest(at + ".content: only {\"type\": \"text\", \"text\": ...} parts are "
                               "supported",
                          at + ".content", "unsupported_value");
    }
  }
  return std::nullopt;
}

std::optional<ApiError> GetStop(const json& body, std::vector<std::string>* out) {
  auto it = body.find("stop");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) {
    out->push_back(it->get<std::string>());
  } else if (!it->is_array()) {
    return WrongType("stop", "a string or an array of strings", *it);
  } else {
    if (it->size() > 4)
      return BadRequest("'stop' holds at most 4 strings", "stop", "invalid_value");
    for (const json& s : *it) {
      if (!s.is_string()) return WrongType("stop", "a string or an array of strings", *it);
      out->push_back(s.get<std::string>());
    }
  }
  for (const std::string& s : *out)
    if (s.size() > kMaxStopBytes)
      return BadRequest("a 'stop' string holds at most " + std::to_string(kMaxStopBytes) + " bytes",
                        "stop", "invalid_value");
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> ParseCompletionRequest(const std::string& text, bool chat,
                                               CompletionRequest* out) {
  const json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded())
    return BadRequest("the request body is not valid JSON", "", "invalid_json");
  if (!body.is_object())
    return BadRequest("the request body must be a JSON object", "", "invalid_json");
  out->chat = chat;

  static const std::set<std::string> kCommon = {"model",
                                                "max_tokens",
                                                "temperature",
                                                "top_p",
                                                "n",
                                                "stream",
                                                "stream_options",
                                                "stop",
                                                "seed",
                                                "user",
                                                "presence_penalty",
                                                "frequency_penalty",
                                                "logit_bias",
                                                "logprobs",
                                                "top_k",
                                                "min_p",
                                                "repeat_penalty"};
  static const std::set<std::string> kCompletion = {"prompt", "echo", "suffix", "best_of"};
  static const std::set<std::string> kChat = {
      "messages",    "max_completion_tokens", "top_logprobs", "response_format", "tools",
      "tool_choice", "parallel_tool_calls",   "functions",    "function_call",   "store",
      "metadata"};
  for (const auto& [key, value] : body.items()) {
    if (kCommon.count(key) || (chat ? kChat : kCompletion).count(key)) continue;
    return BadRequest("Unrecognized request argument supplied: " + key, key, "unknown_field");
  }

  if (auto it = body.find("model"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return WrongType("model", "a string", *it);
    out->model = it->get<std::string>();
  }
  for (auto [field, neutral] :
       std::initializer_list<std::pair<const char*, json>>{{"n", 1},
                                                           {"presence_penalty", 0},
                                                           {"frequency_penalty", 0},
                                                           {"logit_bias", json::object()},
                                                           {"logprobs", false},
                                                           {"echo", false},
                                                           {"suffix", ""},
                                                           {"best_of", 1},
                                                           {"top_logprobs", 0},
                                                           {"response_format", {{"type", "text"}}},
                                                           {"tools", json::array()},
                                                           {"tool_choice", "none"},
                                                           {"functions", json::array()},
                                                           {"function_call", "none"},
                                                           {"store", false}}) {
    if (auto e = Neutral(body, field, neutral)) {
      if (std::string(field) == "n") e->message = "only n = 1 is supported";
      return e;
    }
  }
  if (auto it = body.find("user"); it != body.end() && !it->is_null() && !it->is_string())
    return WrongType("user", "a string", *it);

  if (chat) {
    auto it = body.find("messages");
    if (it == body.end()) return BadRequest("'messages' is required", "messages", "missing_field");
    if (auto e = CheckMessages(*it)) return e;
    out->messages_json = it->dump();
  } else {
    auto it = body.find("prompt");
    if (it == body.end() || it->is_null())
      return BadRequest("'prompt' is required", "prompt", "missing_field");
    if (it->is_string()) {
      out->prompt = it->get<std::string>();
    } else if (it->is_array() && it->size() == 1 && (*it)[0].is_string()) {
      out->prompt = (*it)[0].get<std::string>();
    } else if (it->is_array()) {
      return BadRequest(
          "'prompt' as an array must hold exactly one string (one choice per request)", "prompt",
          "unsupported_value");
    } else {
      return WrongType("prompt", "a string or an array of one string", *it);
    }
  }

  std::optional<int64_t> v;
  const char* max_field =
      chat && body.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  if (auto e = GetInteger(body, max_field, 1, 1 << 30, &v)) return e;
  if (v) out->max_tokens = size_t(*v);
  if (auto e = GetNumber(body, "temperature", 0, 2, &out->temperature)) return e;
  if (auto e = GetNumber(body, "top_p", 0, 1, &out->top_p)) return e;
  if (out->top_p <= 0) return BadRequest("'top_p' must be above 0", "top_p", "invalid_value");
  if (auto e = GetNumber(body, "min_p", 0, 1, &out->min_p)) return e;
  if (auto e = GetNumber(body, "repeat_penalty", 0.01, 100, &out->repeat_penalty)) return e;
  v.reset();
  if (auto e = GetInteger(body, "top_k", 0, 1 << 30, &v)) return e;
  if (v) out->top_k = int32_t(*v);
  v.reset();
  if (auto e = GetInteger(body, "seed", INT64_MIN, INT64_MAX, &v)) return e;
  if (v) out->seed = uint64_t(*v);
  if (auto e = GetStop(body, &out->stop)) return e;
  if (auto e = GetBool(body, "stream", &out->stream)) return e;
  if (auto it = body.find("stream_options"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return WrongType("stream_options", "an object", *it);
    for (const auto& [key, value] : it->items())
      if (key != "include_usage")
        return BadRequest("Unrecognized request argument supplied: stream_options." + key,
                          "stream_options." + key, "unknown_field");
    if (auto e = GetBool(*it, "include_usage", &out->include_usage)) {
      e->param = "stream_options.include_usage";
      return e;
    }
  }
  return std::nullopt;
}

}  // namespace floe::serve
