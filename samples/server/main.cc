// floe-serve: an OpenAI-compatible HTTP server with continuous batching (docs/server.md).
// Exit status: 0 after a clean shutdown (SIGTERM/SIGINT: stop taking requests, finish the ones
// admitted, exit), 1 when the model cannot be loaded or the address cannot be bound, 2 for a
// usage error.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cinttypes>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <httplib.h>

#include "floe/floe.h"
#include "http_api.h"
#include "metrics.h"
#include "samples/floe/checks.h"
#include "samples/floe/help_format.h"
#include "samples/floe/session_flags.h"
#include "scheduler.h"

namespace {

struct Flags {
  std::string model, tokenizer, host = "127.0.0.1", alias, api_key, cache_dir;
  size_t cache_max_mb = 1024, cache_min_tokens = 32;
  int port = 8080;
  size_t parallel = 4, queue = 16, ctx = 0, batch = 64, max_body = 1 << 20, max_tokens = 2048;
  int threads = 0, top_k = 40;
  int32_t kv = FLOE_KV_F32;
  int32_t huge_pages = 2;  // floe_model_params.huge_pages: refault
  double drain_timeout = 30;
};

std::string ModelMeta(floe_model* model, const char* key) {
  size_t n = 0;
  floe_status st = floe_model_meta(model, key, nullptr, 0, &n);
  if (st != FLOE_OK && st != FLOE_ERR_OUT_OF_RANGE) return "";
  std::string v(n + 1, '\0');
  if (floe_model_meta(model, key, v.data(), v.size(), &n) != FLOE_OK) return "";
  v.resize(n);
  return v;
}

int Serve(const Flags& f) {
  floe_model_params mp = floe_model_default_params();
  if (!f.tokenizer.empty()) mp.tokenizer_path = f.tokenizer.c_str();
  mp.huge_pages = f.huge_pages;
  floe_model* model = nullptr;
  if (floe_model_load(f.model.c_str(), &mp, &model) != FLOE_OK) {
    std::fprintf(stderr, "floe-serve: %s\n", floe_last_error());
    return 1;
  }
  size_t probe = 0;
  if (floe_tokenize(model, "a", 1, 0, nullptr, 0, &probe) == FLOE_ERR_UNSUPPORTED) {
    std::fprintf(stderr, "floe-serve: %s has no vocabulary; pass -z tokenizer.bin\n",
                 f.model.c_str());
    floe_model_free(model);
    return 1;
  }

  floe::serve::SchedulerOptions so;
  so.parallel = f.parallel;
  so.queue = f.queue;
  so.prefill_chunk = f.batch;
  so.threads = f.threads;
  so.session = floe_session_default_params();
  so.session.n_threads = f.threads;
  so.session.context_length = uint32_t(f.ctx);
  so.session.kv_type = f.kv;
  so.session.batch = uint32_t(f.batch);
  const int32_t trained = floe_model_context_length(model);
  if (f.ctx == 0 && trained <= 0) {
    std::fprintf(stderr, "floe-serve: the model states no context length; pass --ctx N\n");
    floe_model_free(model);
    return 2;
  }

  // One session up front, so that bad session settings fail here and not in every request.
  floe_session* probe_session = nullptr;
  if (floe_session_create(model, &so.session, &probe_session) != FLOE_OK) {
    std::fprintf(stderr, "floe-serve: %s\n", floe_last_error());
    floe_model_free(model);
    return 1;
  }
  floe_session_free(probe_session);

  floe::serve::ApiConfig api_config;
  api_config.model_id =
      f.alias.empty() ? std::filesystem::path(f.model).filename().string() : f.alias;
  api_config.api_key = f.api_key;
  api_config.max_body = f.max_body;
  api_config.max_tokens = f.max_tokens;
  api_config.top_k = f.top_k;
  api_config.chat_template = ModelMeta(model, "tokenizer.chat_template");

  std::unique_ptr<floe::serve::StateCache> state_cache;
  if (!f.cache_dir.empty()) {
    floe::serve::StateCacheOptions co;
    co.dir = f.cache_dir;
    co.max_bytes = uint64_t(f.cache_max_mb) << 20;
    co.min_tokens = f.cache_min_tokens;
    // States of another model (or another KV type or context) never match this one's names.
    std::error_code ec;
    co.model_identity = std::filesystem::path(f.model).filename().string() + "|" +
                        std::to_string(std::filesystem::file_size(f.model, ec)) + "|" +
                        floe_model_architecture(model) + "|" +
                        std::to_string(floe_model_vocab_size(model)) + "|" +
                        std::to_string(f.ctx) + "|" + std::to_string(f.kv) + "|" + f.tokenizer;
    std::string error;
    state_cache = floe::serve::StateCache::Open(co, &error);
    if (!state_cache) {
      std::fprintf(stderr, "floe-serve: %s\n", error.c_str());
      floe_model_free(model);
      return 1;
    }
    const auto st = state_cache->stats();
    std::fprintf(stderr, "floe-serve: cache: %s holds %" PRIu64 " states (%" PRIu64 " bytes)\n",
                 f.cache_dir.c_str(), st.files, st.bytes);
    so.state_cache = state_cache.get();
  }
  floe::serve::Metrics metrics;
  if (state_cache) metrics.SetStateCacheSource([c = state_cache.get()] { return c->stats(); });
  int rc = 0;
  {
    floe::serve::Scheduler scheduler(model, so, &metrics);
    floe::serve::Api api(model, &scheduler, &metrics, api_config);
    httplib::Server svr;
    const size_t workers = f.parallel + f.queue + 8;  // every streaming client holds one
    svr.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
    api.Register(svr);
    int port = f.port;
    if (port == 0) {
      port = svr.bind_to_any_port(f.host);
    } else if (!svr.bind_to_port(f.host, port)) {
      port = -1;
    }
    if (port <= 0) {
      std::fprintf(stderr, "floe-serve: cannot listen on %s:%d\n", f.host.c_str(), f.port);
      floe_model_free(model);
      return 1;
    }
    std::fprintf(stderr,
                 "floe-serve: %s (%s, context %zu) on http://%s:%d/ (parallel %zu, queue %zu)\n",
                 api_config.model_id.c_str(), floe_model_architecture(model),
                 scheduler.context_length(), f.host.c_str(), port, f.parallel, f.queue);
    // SIGTERM / SIGINT (blocked in every thread, see main) are taken here: drain, then stop.
    std::thread signals([&] {
      sigset_t set;
      sigemptyset(&set);
      sigaddset(&set, SIGTERM);
      sigaddset(&set, SIGINT);
      sigaddset(&set, SIGUSR1);  // sent by main when listening ends on its own
      int sig = 0;
      sigwait(&set, &sig);
      if (sig == SIGUSR1) return;
      std::fprintf(stderr, "floe-serve: %s: draining\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
      const auto timeout = std::chrono::milliseconds(long(f.drain_timeout * 1000));
      const auto start = std::chrono::steady_clock::now();
      if (!scheduler.Drain(timeout))
        std::fprintf(stderr, "floe-serve: drain timed out; cancelled what was left\n");
      // The generations are over; let their responses write their last chunks (a cancelled one
      // ends within a provider poll). At least a second, whatever the drain took.
      const auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      if (!api.WaitForOpenResponses(std::max(timeout - spent, std::chrono::milliseconds(1000))))
        std::fprintf(stderr, "floe-serve: a response was still being written; cut it\n");
      svr.stop();
    });
    std::fflush(stderr);
    if (!svr.listen_after_bind()) rc = 1;
    pthread_kill(signals.native_handle(), SIGUSR1);
    signals.join();
  }
  floe_model_free(model);
  std::fprintf(stderr, "floe-serve: stopped\n");
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts: the signal thread alone receives these.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  using floe::cli::IntAtLeast;
  Flags f;
  CLI::App app("floe-serve: an OpenAI-compatible HTTP server for a floe model", "floe-serve");
  app.option_defaults()->always_capture_default()->multi_option_policy(
      CLI::MultiOptionPolicy::TakeLast);
  floe::cli::UseHelpFormat(app);
  app.add_option("-m,--model", f.model, "model: GGUF, llama2.c, rwkv.cpp, .pth or safetensors")
      ->required()
      ->check(floe::cli::ExistingInputFile())
      ->type_name("FILE");
  app.add_option("-z,--tokenizer", f.tokenizer,
                 "llama2.c tokenizer.bin, instead of the model's vocabulary")
      ->check(floe::cli::ExistingInputFile())
      ->type_name("FILE");
  floe::cli::AddChoice<int32_t>(&app, "--huge-pages", &f.huge_pages,
                                {{"off", 0}, {"advise", 1}, {"refault", 2}},
                                "2 MiB pages for the weights; refault re-reads a file cached in "
                                "small pages");
  app.add_option("--host", f.host, "address to listen on");
  app.add_option("--port", f.port, "TCP port, 0 = any free port (printed)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--alias", f.alias, "model name in the API (default: the file name)");
  app.add_option("--parallel", f.parallel, "sequences decoded together at most")
      ->check(CLI::Range(1, 256));
  app.add_option("--queue", f.queue, "requests waiting beyond --parallel at most (then 429)")
      ->check(IntAtLeast(0));
  floe::cli::AddContextFlag(&app, &f.ctx, "context length per session, 0 = the model's");
  floe::cli::AddThreadsFlag(&app, &f.threads);
  floe::cli::AddChoice<int32_t>(&app, "--kv", &f.kv, {{"f32", FLOE_KV_F32}, {"f16", FLOE_KV_F16}},
                                "KV cache element type");
  app.add_option("--batch", f.batch, "prefill chunk: prompt tokens per request per step")
      ->check(CLI::Range(1, 4096));
  app.add_option("--max-tokens", f.max_tokens,
                 "tokens one request may generate at most; also chat's default max_tokens")
      ->check(IntAtLeast(1));
  app.add_option("--top-k", f.top_k,
                 "top_k of requests that do not set it (as llama.cpp's server); 0 = off, "
                 "OpenAI's full distribution")
      ->check(IntAtLeast(0));
  app.add_option("--api-key", f.api_key, "require 'Authorization: Bearer KEY' on /v1 and /metrics");
  app.add_option("--max-body", f.max_body, "request body bytes at most (then 413)")
      ->check(IntAtLeast(1));
  app.add_option("--drain-timeout", f.drain_timeout, "seconds SIGTERM waits for running requests")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--cache-dir", f.cache_dir,
                 "save requests' session states here (prompt read, request done); a prompt "
                 "that extends or equals one restores it, across restarts")
      ->type_name("DIR");
  app.add_option("--cache-max-mb", f.cache_max_mb,
                 "--cache-dir size at most, MiB (least recently used states deleted)")
      ->check(CLI::Range(size_t(1), size_t(1) << 30));
  app.add_option("--cache-min-tokens", f.cache_min_tokens,
                 "--cache-dir: histories shorter than this are not saved")
      ->check(IntAtLeast(1));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "floe-serve: %s\nRun 'floe-serve --help' for the flags.\n", e.what());
    return 2;
  }
  try {
    return Serve(f);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "floe-serve: %s\n", e.what());
    return 1;
  }
}
