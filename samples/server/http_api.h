// The HTTP endpoints of floe-serve on a cpp-httplib server: the OpenAI routes, /health,
// /metrics and the web page, plus the API-key check, OpenAI-style error bodies for every 4xx/5xx
// (including those httplib produces itself: 404, 413, ...) and request counting.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

#include <httplib.h>

#include "floe/floe.h"
#include "metrics.h"
#include "scheduler.h"

namespace floe::serve {

struct ApiConfig {
  std::string model_id;       // the name /v1/models lists and requests may ask for
  std::string api_key;        // "" = no authentication
  std::string chat_template;  // the model's tokenizer.chat_template ("" = none: ChatML)
  size_t max_body = 1 << 20;  // request body bytes at most
  size_t max_tokens = 2048;   // generated tokens per request at most (chat's default)
  int32_t top_k = 40;         // top_k of requests that do not set it (0 = off)
};

class Api {
 public:
  Api(floe_model* model, Scheduler* scheduler, Metrics* metrics, ApiConfig config);
  void Register(httplib::Server& server);
  // Waits until every chunked response (streams, and long non-streamed replies) has been written
  // out to its end, or the timeout passes; true when none is left. Drain calls it after the
  // scheduler is idle: httplib's stop() cuts a chunked response that has not ended yet, so a
  // client would lose the last chunk ([DONE]) of a generation that did finish.
  bool WaitForOpenResponses(std::chrono::milliseconds timeout);

 private:
  // Chunked responses not yet written out: counted up when one is set, down in its releaser
  // (httplib calls it when the Response goes away, after the last chunk was written).
  struct OpenResponses {
    std::mutex mu;
    std::condition_variable cv;
    size_t n = 0;
  };
  // Marks one response open; the returned guard's release (in the provider's releaser) closes it.
  std::shared_ptr<void> OpenResponse();

  void Completions(const httplib::Request& req, httplib::Response& res, bool chat);
  // Renders the chat messages (JSON text) into the prompt; false with *error set on failure.
  bool RenderChat(const std::string& messages_json, std::string* prompt, std::string* error);

  floe_model* model_;
  Scheduler* scheduler_;
  Metrics* metrics_;
  const ApiConfig config_;
  std::atomic<uint64_t> next_id_{0};
  std::shared_ptr<OpenResponses> open_ = std::make_shared<OpenResponses>();
};

}  // namespace floe::serve
