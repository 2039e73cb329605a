#include "http_api.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <random>

#include "openai_request.h"
#include "web_page.h"

namespace floe::serve {

namespace {

using nlohmann::json;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void Reply(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(Dump(e.ToJson()), "application/json");
}

ApiError ErrorForStatus(const httplib::Request& req, int status, size_t max_body) {
  switch (status) {
    case 404:
      return {404, "no route for " + req.method + " " + req.path, "invalid_request_error", "",
              "not_found"};
    case 405:
      return {405, "method not allowed", "invalid_request_error", "", "method_not_allowed"};
    case 413:
      return {413, "the request body exceeds " + std::to_string(max_body) + " bytes (--max-body)",
              "invalid_request_error", "", "request_too_large"};
    case 414:
      return {414, "the request URI is too long", "invalid_request_error", "", "uri_too_long"};
    case 401:
      return {401, "unauthorized", "invalid_request_error", "", "invalid_api_key"};
    default:
      if (status >= 500) return {status, "internal server error", "server_error", "", ""};
      return {status, "bad request", "invalid_request_error", "", ""};
  }
}

// Known endpoints keep their own label in the metrics; anything else is "other".
std::string EndpointLabel(const std::string& path) {
  for (const char* p :
       {"/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics", "/"})
    if (path == p) return path;
  return "other";
}

// Compares in time that does not depend on where the strings differ (API keys).
bool SameSecret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() != b.size();
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % std::max<size_t>(b.size(), 1)];
  return diff == 0;
}

uint64_t RandomSeed() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

}  // namespace

Api::Api(floe_model* model, Scheduler* scheduler, Metrics* metrics, ApiConfig config)
    : model_(model), scheduler_(scheduler), metrics_(metrics), config_(std::move(config)) {}

void Api::Register(httplib::Server& svr) {
  svr.set_payload_max_length(config_.max_body);
  svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (config_.api_key.empty() || req.path == "/health" || req.path == "/")
      return httplib::Server::HandlerResponse::Unhandled;
    if (SameSecret(req.get_header_value("Authorization"), "Bearer " + config_.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    Reply(res, {401, "missing or wrong API key (send 'Authorization: Bearer KEY')",
                "invalid_request_error", "", "invalid_api_key"});
    return httplib::Server::HandlerResponse::Handled;
  });
  svr.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty() && !res.content_provider_)
      Reply(res, ErrorForStatus(req, res.status, config_.max_body));
  });
  svr.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        Reply(res, {500, "internal error: " + what, "server_error", "", ""});
      });
  svr.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics_->CountRequest(EndpointLabel(req.path), res.status);
  });

  svr.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    Completions(req, res, /*chat=*/false);
  });
  svr.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    Completions(req, res, /*chat=*/true);
  });
  svr.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json m = {{"id", config_.model_id},
              {"object", "model"},
              {"created", 0},
              {"owned_by", "floe"},
              {"architecture", floe_model_architecture(model_)},
              {"context_length", scheduler_->context_length()}};
    res.set_content(Dump({{"object", "list"}, {"data", json::array({m})}}), "application/json");
  });
  svr.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_->Render(), "text/plain; version=0.0.4");
  });
  svr.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kWebPage, "text/html; charset=utf-8");
  });
}

// The conversation through the model's chat template (ChatML when it has none). A template
// error, including the template's own raise_exception (e.g. roles that do not alternate), is
// the request's problem: the caller answers 400 with the message.
bool Api::RenderChat(const std::string& messages_json, std::string* prompt, std::string* error) {
  floe_chat_params params = floe_chat_default_params();
  const char* tmpl = config_.chat_template.empty() ? nullptr : config_.chat_template.c_str();
  std::string out(4096, '\0');
  size_t n = 0;
  floe_status st = floe_chat_render(tmpl, messages_json.c_str(), &params, out.data(), out.size(), &n);
  if (st == FLOE_ERR_OUT_OF_RANGE) {
    out.assign(n + 1, '\0');
    st = floe_chat_render(tmpl, messages_json.c_str(), &params, out.data(), out.size(), &n);
  }
  if (st != FLOE_OK) {
    *error = floe_last_error();
    return false;
  }
  out.resize(n);
  *prompt = std::move(out);
  return true;
}

void Api::Completions(const httplib::Request& req, httplib::Response& res, bool chat) {
  CompletionRequest r;
  if (auto e = ParseCompletionRequest(req.body, chat, &r)) return Reply(res, *e);
  if (!r.model.empty() && r.model != config_.model_id)
    return Reply(res, {404,
                       "The model '" + r.model + "' does not exist (this server runs '" +
                           config_.model_id + "')",
                       "invalid_request_error", "model", "model_not_found"});
  std::string prompt = r.prompt;
  if (chat) {
    std::string error;
    if (!RenderChat(r.messages_json, &prompt, &error))
      return Reply(res,
                   BadRequest("cannot render the chat: " + error, "messages", "invalid_value"));
  }
  size_t n = 0;
  floe_status st = floe_tokenize(model_, prompt.data(), prompt.size(), 1, nullptr, 0, &n);
  GenParams gen;
  gen.prompt.resize(n);
  if (st == FLOE_OK || st == FLOE_ERR_OUT_OF_RANGE)
    st = floe_tokenize(model_, prompt.data(), prompt.size(), 1, gen.prompt.data(), n, &n);
  if (st != FLOE_OK)
    return Reply(res,
                 {500, std::string("cannot tokenize the prompt: ") + floe_model_last_error(model_),
                  "server_error", "", ""});
  gen.prompt.resize(n);
  const size_t ctx = scheduler_->context_length();
  if (r.max_tokens && *r.max_tokens > config_.max_tokens)
    return Reply(res, BadRequest("'max_tokens' is " + std::to_string(*r.max_tokens) +
                                     "; this server generates at most " +
                                     std::to_string(config_.max_tokens) + " tokens (--max-tokens)",
                                 "max_tokens", "invalid_value"));
  if (gen.prompt.empty())
    return Reply(res, BadRequest("the prompt is empty", chat ? "messages" : "prompt"));
  if (gen.prompt.size() >= ctx || (r.max_tokens && gen.prompt.size() + *r.max_tokens > ctx))
    return Reply(
        res, BadRequest("This model's maximum context length is " + std::to_string(ctx) +
                            " tokens. However, you requested " +
                            std::to_string(gen.prompt.size() + r.max_tokens.value_or(1)) +
                            " tokens (" + std::to_string(gen.prompt.size()) + " in the prompt, " +
                            std::to_string(r.max_tokens.value_or(1)) + " for the completion).",
                        r.max_tokens && gen.prompt.size() < ctx ? "max_tokens"
                                                                : (chat ? "messages" : "prompt"),
                        "context_length_exceeded"));
  const size_t room = ctx - gen.prompt.size();
  gen.max_tokens =
      r.max_tokens ? *r.max_tokens : std::min(room, chat ? config_.max_tokens : size_t(16));
  gen.sampler = floe_sampler_default_params();
  gen.sampler.temperature = r.temperature;
  gen.sampler.top_p = r.top_p;
  gen.sampler.top_k = r.top_k.value_or(config_.top_k);
  gen.sampler.min_p = r.min_p;
  gen.sampler.repeat_penalty = r.repeat_penalty;
  gen.sampler.seed = r.seed ? *r.seed : RandomSeed();
  gen.stop = r.stop;

  auto job = std::make_shared<Job>(std::move(gen));
  switch (scheduler_->Submit(job)) {
    case Scheduler::Admit::kOk:
      break;
    case Scheduler::Admit::kQueueFull:
      metrics_->CountRejected();
      res.set_header("Retry-After", "1");
      return Reply(res,
                   {429, "the server is busy: every session and queue place is taken; retry later",
                    "rate_limit_error", "", "rate_limit_exceeded"});
    case Scheduler::Admit::kDraining:
      return Reply(res, {503, "the server is shutting down", "server_error", "", "shutting_down"});
  }

  const std::string id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(std::time(nullptr)) + "-" +
                         std::to_string(next_id_++);
  const int64_t created = std::time(nullptr);
  const std::string object = chat ? "chat.completion" : "text_completion";
  auto usage = [job] {
    return json{{"prompt_tokens", job->prompt_tokens()},
                {"completion_tokens", job->completion_tokens()},
                {"total_tokens", job->prompt_tokens() + job->completion_tokens()}};
  };
  auto finish_reason = [job]() -> json {
    return job->finish() == Finish::kLength ? "length" : "stop";
  };

  if (!r.stream) {
    // The handler waits for the first text (errors before it, as in a session or the prefill,
    // keep their status). If more is to come, the body goes out through a chunked provider,
    // which notices a client that went away (it polls the socket) and cancels the job.
    auto text = std::make_shared<std::string>();
    bool done = false;
    while (!done && text->empty()) done = job->Wait(text.get(), std::chrono::milliseconds(1000));
    const std::string model_id = config_.model_id;
    auto body = [=]() -> std::string {
      if (job->finish() == Finish::kError || job->finish() == Finish::kCancelled)
        return Dump(
            ApiError{500, "generation failed: " + job->error(), "server_error", "", ""}.ToJson());
      json choice = {{"index", 0}, {"finish_reason", finish_reason()}};
      if (chat) {
        choice["message"] = {{"role", "assistant"}, {"content", *text}};
      } else {
        choice["text"] = *text;
        choice["logprobs"] = nullptr;
      }
      return Dump({{"id", id},
                   {"object", object},
                   {"created", created},
                   {"model", model_id},
                   {"choices", json::array({choice})},
                   {"usage", usage()}});
    };
    if (done) {
      if (job->finish() == Finish::kError || job->finish() == Finish::kCancelled)
        return Reply(res, {500, "generation failed: " + job->error(), "server_error", "", ""});
      res.set_content(body(), "application/json");
      return;
    }
    res.set_chunked_content_provider(
        "application/json",
        [=](size_t, httplib::DataSink& sink) {
          const bool finished = job->Wait(text.get(), std::chrono::milliseconds(200));
          if (!sink.is_writable()) {
            job->Cancel();
            return false;
          }
          if (!finished) return true;
          const std::string b = body();
          if (!sink.write(b.data(), b.size())) return false;
          sink.done();
          return true;
        },
        [job, open = OpenResponse()](bool success) {
          if (!success) job->Cancel();
        });
    return;
  }

  // Streaming: one SSE event per piece of text, then the finish chunk, optionally a usage chunk,
  // then [DONE]. A client that goes away cancels the job (its session is freed next iteration).
  const std::string chunk_object = chat ? "chat.completion.chunk" : "text_completion";
  const std::string model_id = config_.model_id;
  const bool include_usage = r.include_usage;
  auto chunk = [=](const json& piece, const json& reason) {
    json choice = {{"index", 0}, {"finish_reason", reason}};
    if (chat) {
      choice["delta"] = piece;
    } else {
      choice["text"] = piece;
      choice["logprobs"] = nullptr;
    }
    return "data: " +
           Dump({{"id", id},
                 {"object", chunk_object},
                 {"created", created},
                 {"model", model_id},
                 {"choices", json::array({choice})}}) +
           "\n\n";
  };
  auto first = std::make_shared<bool>(true);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [=](size_t, httplib::DataSink& sink) {
        auto send = [&](const std::string& s) {
          if (sink.write(s.data(), s.size())) return true;
          job->Cancel();
          return false;
        };
        if (*first && chat) {
          *first = false;
          if (!send(chunk({{"role", "assistant"}, {"content", ""}}, nullptr))) return false;
        }
        std::string text;
        const bool done = job->Wait(&text, std::chrono::milliseconds(200));
        if (!sink.is_writable()) {
          job->Cancel();
          return false;
        }
        if (!text.empty() && !send(chunk(chat ? json{{"content", text}} : json(text), nullptr)))
          return false;
        if (!done) return true;
        if (job->finish() == Finish::kError || job->finish() == Finish::kCancelled) {
          send("data: " +
               Dump(ApiError{500, "generation failed: " + job->error(), "server_error", "", ""}
                        .ToJson()) +
               "\n\n");
        } else {
          if (!send(chunk(chat ? json::object() : json(""), finish_reason()))) return false;
          if (include_usage && !send("data: " +
                                     Dump({{"id", id},
                                           {"object", chunk_object},
                                           {"created", created},
                                           {"model", model_id},
                                           {"choices", json::array()},
                                           {"usage", usage()}}) +
                                     "\n\n"))
            return false;
        }
        send("data: [DONE]\n\n");
        sink.done();
        return true;
      },
      [job, open = OpenResponse()](bool success) {
        if (!success) job->Cancel();
      });
}

std::shared_ptr<void> Api::OpenResponse() {
  {
    std::lock_guard<std::mutex> lock(open_->mu);
    ++open_->n;
  }
  // The guard holds the counter, not the Api: safe whichever of the two goes first.
  return std::shared_ptr<void>(nullptr, [open = open_](void*) {
    {
      std::lock_guard<std::mutex> lock(open->mu);
      --open->n;
    }
    open->cv.notify_all();
  });
}

bool Api::WaitForOpenResponses(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(open_->mu);
  return open_->cv.wait_for(lock, timeout, [&] { return open_->n == 0; });
}

}  // namespace floe::serve
