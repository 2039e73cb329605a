// Continuous batching. One scheduler thread owns every floe_session; HTTP threads submit Jobs and
// read their text. Each iteration of the loop:
//   1. admits queued jobs into free slots (at most `parallel` active; each slot keeps one
//      floe_session, reset and reused across requests);
//   2. evaluates the next prefill chunk (<= prefill_chunk tokens) of every job still reading its
//      prompt, all in one floe_eval_batch call (sequences run concurrently);
//   3. evaluates the last sampled token of every decoding job in one floe_eval_batch call: one
//      token per sequence, so the model runs them as one batched forward (each weight read once);
//   4. samples the next token of every job whose logits are fresh, with the job's own sampler.
// A long prompt therefore advances one chunk per iteration while the others keep decoding.
// Prompt caching: a slot's session keeps its token history after its job ends; a new job goes to
// the free slot whose history is the longest proper prefix of its prompt, and only the rest of
// the prompt is evaluated (otherwise to the least recently used slot, reset). With a StateCache
// (--cache-dir), a job whose prompt extends a saved state longer than that restores it instead;
// a job saves its session's state there when its prompt is read and when it ends (stop or
// length), so that both a longer prompt and the next turn of a chat find it.
// Greedy results equal a lone session's: floe_eval_batch's batched decode is bit-exact with
// separate decodes, and prefill chunks start at the same positions as floe_session_eval's.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "floe/floe.h"
#include "metrics.h"
#include "state_cache.h"

namespace floe::serve {

enum class Finish { kNone, kStop, kLength, kCancelled, kError };
const char* FinishReason(Finish f);  // "stop", "length", ... (OpenAI finish_reason)

struct GenParams {
  std::vector<floe_token> prompt;  // tokenized, BOS included; 1 <= size < context
  size_t max_tokens = 16;
  floe_sampler_params sampler{};
  std::vector<std::string> stop;
};

// One request's generation: written by the scheduler, read by the HTTP thread that owns it.
class Job {
 public:
  explicit Job(GenParams p) : params(std::move(p)) {}
  const GenParams params;

  // Waits up to `timeout` for new text or the end; appends new text to *text. Returns true once
  // the job has finished and all its text has been handed out.
  bool Wait(std::string* text, std::chrono::milliseconds timeout);
  // Any thread: stop the generation at the next iteration and free its session.
  void Cancel() { cancel_ = true; }
  bool cancelled() const { return cancel_; }

  // Valid after Wait returned true.
  Finish finish() const { return finish_; }
  const std::string& error() const { return error_; }
  size_t prompt_tokens() const { return params.prompt.size(); }
  size_t completion_tokens() const { return completion_tokens_; }

 private:
  friend class Scheduler;
  void Publish(std::string text, Finish finish = Finish::kNone, std::string error = "");

  std::mutex mu_;
  std::condition_variable cv_;
  std::string out_;
  bool done_ = false;
  Finish finish_ = Finish::kNone;
  std::string error_;
  std::atomic<size_t> completion_tokens_{0};
  std::atomic<bool> cancel_{false};
};

struct SchedulerOptions {
  size_t parallel = 4;        // active sessions at most
  size_t queue = 16;          // waiting jobs at most beyond those
  size_t prefill_chunk = 64;  // prompt tokens per job per iteration
  int32_t threads = 0;        // floe_eval_batch threads (0 = physical cores)
  floe_session_params session{};
  StateCache* state_cache = nullptr;  // --cache-dir; outlives the scheduler
};

class Scheduler {
 public:
  Scheduler(floe_model* model, SchedulerOptions options, Metrics* metrics);
  ~Scheduler();  // cancels what is left and joins the thread
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  enum class Admit { kOk, kQueueFull, kDraining };
  Admit Submit(std::shared_ptr<Job> job);
  // Refuse new jobs from now on; returns once every admitted job has finished or `timeout`
  // passed (then the rest are cancelled). Returns true when all finished on their own.
  bool Drain(std::chrono::milliseconds timeout);
  size_t context_length() const { return context_; }

 private:
  struct Slot;
  void Loop();
  void Step(std::vector<Slot*>& active);
  void SampleNext(Slot& s);
  void Release(Slot& s, Finish finish, const std::string& error = "");
  Slot* PickSlot(const std::vector<floe_token>& prompt);  // under mu_; nullptr if none free
  std::string TokenBytes(floe_token prev, floe_token tok);

  floe_model* model_;
  const SchedulerOptions opt_;
  Metrics* metrics_;
  size_t context_ = 0;
  floe_token eos_ = -1;

  std::mutex mu_;  // guards queue_, n_active_, draining_, stop_
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  size_t n_active_ = 0;
  bool draining_ = false, stop_ = false;
  std::vector<std::unique_ptr<Slot>> slots_;  // scheduler thread only
  uint64_t clock_ = 0;                        // admission counter, for least recently used
  std::thread thread_;
};

}  // namespace floe::serve
