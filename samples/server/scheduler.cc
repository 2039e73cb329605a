#include "scheduler.h"

#include <algorithm>

#include "text_stream.h"

namespace floe::serve {

const char* FinishReason(Finish f) {
  switch (f) {
    case Finish::kStop:
      return "stop";
    case Finish::kLength:
      return "length";
    case Finish::kCancelled:
      return "cancelled";
    case Finish::kError:
      return "error";
    case Finish::kNone:
      break;
  }
  return "";
}

bool Job::Wait(std::string* text, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return done_ || !out_.empty(); });
  text->append(out_);
  out_.clear();
  return done_;
}

void Job::Publish(std::string text, Finish finish, std::string error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    out_ += text;
    if (finish != Finish::kNone) {
      done_ = true;
      finish_ = finish;
      error_ = std::move(error);
    }
  }
  cv_.notify_all();
}

struct Scheduler::Slot {
  floe_session* session = nullptr;
  std::shared_ptr<Job> job;
  floe_sampler* sampler = nullptr;
  bool started = false;
  size_t prefilled = 0;      // prompt tokens evaluated
  bool has_pending = false;  // a sampled token waits for its decode step
  floe_token pending = -1;
  floe_token prev = -1;  // the token before the next one, for its text in context
  size_t generated = 0;
  std::unique_ptr<TextStream> text;
  std::vector<floe_token> history;  // tokens the session has evaluated
  size_t cached = 0;                // prompt tokens of the job found in history
  uint64_t last_used = 0;
};

Scheduler::Scheduler(floe_model* model, SchedulerOptions options, Metrics* metrics)
    : model_(model), opt_(std::move(options)), metrics_(metrics) {
  const int32_t trained = floe_model_context_length(model_);
  context_ = opt_.session.context_length ? opt_.session.context_length
                                         : size_t(std::max<int32_t>(trained, 0));
  eos_ = floe_model_eos(model_);
  for (size_t i = 0; i < std::max<size_t>(opt_.parallel, 1); ++i)
    slots_.push_back(std::make_unique<Slot>());
  thread_ = std::thread([this] { Loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& s : slots_) {
    if (s->job) Release(*s, Finish::kCancelled);
    floe_session_free(s->session);
  }
  for (auto& j : queue_) j->Publish("", Finish::kCancelled);
}

Scheduler::Admit Scheduler::Submit(std::shared_ptr<Job> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (draining_ || stop_) return Admit::kDraining;
    if (queue_.size() + n_active_ >= opt_.parallel + opt_.queue) return Admit::kQueueFull;
    queue_.push_back(std::move(job));
    metrics_->SetQueueDepth(queue_.size());
  }
  cv_.notify_all();
  return Admit::kOk;
}

bool Scheduler::Drain(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  draining_ = true;
  auto idle = [&] { return queue_.empty() && n_active_ == 0; };
  if (cv_.wait_for(lock, timeout, idle)) return true;
  for (auto& j : queue_) j->Cancel();
  for (auto& s : slots_)
    if (s->job) s->job->Cancel();  // read under mu_: slots change jobs only under it
  cv_.notify_all();
  cv_.wait_for(lock, std::chrono::seconds(5), idle);
  return false;
}

void Scheduler::Loop() {
  std::vector<Slot*> active;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !active.empty() || !queue_.empty(); });
      if (stop_) return;
      while (!queue_.empty()) {
        Slot* s = PickSlot(queue_.front()->params.prompt);
        if (!s) break;
        s->job = std::move(queue_.front());
        queue_.pop_front();
        ++n_active_;
        active.push_back(s);
      }
      metrics_->SetQueueDepth(queue_.size());
      metrics_->SetActiveSessions(n_active_);
    }
    Step(active);
    size_t finished = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (Slot* s : active) finished += s->job == nullptr;
      if (finished) {
        active.erase(
            std::remove_if(active.begin(), active.end(), [](Slot* s) { return s->job == nullptr; }),
            active.end());
        n_active_ -= finished;
        metrics_->SetActiveSessions(n_active_);
      }
    }
    if (finished) cv_.notify_all();  // Drain waits for idleness
  }
}

Scheduler::Slot* Scheduler::PickSlot(const std::vector<floe_token>& prompt) {
  Slot* best = nullptr;
  size_t best_len = 0;
  for (auto& s : slots_) {
    if (s->job) continue;
    const auto& h = s->history;
    const bool prefix =
        !h.empty() && h.size() < prompt.size() && std::equal(h.begin(), h.end(), prompt.begin());
    if (prefix && h.size() > best_len) {
      best = s.get();
      best_len = h.size();
    } else if (best_len == 0 && (!best || s->last_used < best->last_used)) {
      best = s.get();
    }
  }
  if (best) {
    best->cached = best_len;
    best->last_used = ++clock_;
  }
  return best;
}

void Scheduler::Step(std::vector<Slot*>& active) {
  // Start admitted jobs; drop cancelled ones.
  for (Slot* s : active) {
    if (!s->job) continue;
    if (s->job->cancelled()) {
      metrics_->CountCancelled();
      Release(*s, Finish::kCancelled);
      continue;
    }
    if (s->started) continue;
    s->started = true;
    if (!s->session) {
      if (floe_session_create(model_, &opt_.session, &s->session) != FLOE_OK) {
        s->session = nullptr;
        Release(*s, Finish::kError, std::string("cannot create a session: ") + floe_last_error());
        continue;
      }
    } else if (s->cached == 0) {
      floe_session_reset(s->session);
      s->history.clear();
    }
    metrics_->AddCachedTokens(s->cached);
    if (opt_.state_cache) {
      const auto& prompt = s->job->params.prompt;
      const size_t restored = opt_.state_cache->Restore(s->session, prompt, s->cached);
      if (restored > 0) {
        s->cached = restored;
        s->history.assign(prompt.begin(), prompt.begin() + ptrdiff_t(restored));
      } else if (floe_session_position(s->session) != s->cached) {
        // A refused file left the session elsewhere than its live history: start over.
        floe_session_reset(s->session);
        s->history.clear();
        s->cached = 0;
      }
    }
    s->prefilled = s->cached;
    if (floe_sampler_create(&s->job->params.sampler, &s->sampler) != FLOE_OK) {
      s->sampler = nullptr;
      Release(*s, Finish::kError, std::string("bad sampling settings: ") + floe_last_error());
      continue;
    }
    s->text = std::make_unique<TextStream>(s->job->params.stop);
    s->prev = s->job->params.prompt.back();
    metrics_->AddPromptTokens(s->job->params.prompt.size());
    // A saved state of the whole prompt holds its logits: nothing to prefill.
    if (s->prefilled == s->job->params.prompt.size()) SampleNext(*s);
  }

  // Decode: every sequence with a sampled token takes one step in one batched forward.
  std::vector<Slot*> dec;
  for (Slot* s : active)
    if (s->job && s->has_pending) dec.push_back(s);
  if (!dec.empty()) {
    std::vector<floe_session*> ss;
    std::vector<const floe_token*> tt;
    std::vector<size_t> nn(dec.size(), 1);
    for (Slot* s : dec) {
      ss.push_back(s->session);
      tt.push_back(&s->pending);
    }
    size_t failed = dec.size();
    const floe_status st =
        floe_eval_batch(ss.data(), tt.data(), nn.data(), ss.size(), opt_.threads, &failed);
    metrics_->ObserveDecodeBatch(dec.size());
    for (size_t i = 0; i < dec.size(); ++i) {
      Slot& s = *dec[i];
      if (st != FLOE_OK && (failed >= dec.size() || failed == i)) {
        Release(s, Finish::kError,
                std::string("decode failed: ") + floe_session_last_error(s.session));
        continue;
      }
      s.has_pending = false;
      s.history.push_back(s.pending);
      SampleNext(s);
    }
  }

  // Prefill: the next chunk of every prompt still being read, evaluated concurrently.
  std::vector<Slot*> pre;
  std::vector<floe_session*> ss;
  std::vector<const floe_token*> tt;
  std::vector<size_t> nn;
  for (Slot* s : active) {
    if (!s->job || s->has_pending) continue;
    const auto& prompt = s->job->params.prompt;
    if (s->prefilled >= prompt.size()) continue;
    pre.push_back(s);
    ss.push_back(s->session);
    tt.push_back(prompt.data() + s->prefilled);
    nn.push_back(std::min(opt_.prefill_chunk, prompt.size() - s->prefilled));
  }
  if (pre.empty()) return;
  size_t failed = pre.size();
  const floe_status st =
      floe_eval_batch(ss.data(), tt.data(), nn.data(), ss.size(), opt_.threads, &failed);
  for (size_t i = 0; i < pre.size(); ++i) {
    Slot& s = *pre[i];
    if (st != FLOE_OK && (failed >= pre.size() || failed == i ||
                          floe_session_position(s.session) != s.prefilled + nn[i])) {
      Release(s, Finish::kError,
              std::string("prefill failed: ") + floe_session_last_error(s.session));
      continue;
    }
    s.history.insert(s.history.end(), tt[i], tt[i] + nn[i]);
    s.prefilled += nn[i];
    metrics_->ObservePrefillTokens(nn[i]);
    if (s.prefilled == s.job->params.prompt.size()) {
      // The prompt's state: what a later prompt extending this one (a longer document, the next
      // turn of a chat) restores.
      if (opt_.state_cache) opt_.state_cache->Save(s.session, s.history);
      SampleNext(s);
    }
  }
}

void Scheduler::SampleNext(Slot& s) {
  floe_token tok = -1;
  if (floe_sampler_sample(s.sampler, s.session, &tok) != FLOE_OK) {
    Release(s, Finish::kError,
            std::string("sampling failed: ") + floe_session_last_error(s.session));
    return;
  }
  if (tok == eos_) {
    Release(s, Finish::kStop);
    return;
  }
  s.generated += 1;
  s.job->completion_tokens_ = s.generated;
  metrics_->AddCompletionTokens(1);
  const std::string bytes = TokenBytes(s.prev, tok);
  s.prev = tok;
  if (s.text->Append(bytes)) {
    Release(s, Finish::kStop);
  } else if (s.generated >= s.job->params.max_tokens ||
             floe_session_position(s.session) >= context_) {
    Release(s, Finish::kLength);
  } else {
    s.job->Publish(s.text->TakeReady());
    s.pending = tok;
    s.has_pending = true;
  }
}

void Scheduler::Release(Slot& s, Finish finish, const std::string& error) {
  std::string rest;
  if (s.text) rest = s.text->TakeReady() + s.text->TakeRest();
  // Swap the job out under the lock: Drain reads slots' jobs under it.
  std::shared_ptr<Job> job;
  {
    std::lock_guard<std::mutex> lock(mu_);
    job = std::move(s.job);
  }
  if (job) job->Publish(std::move(rest), finish, error);
  // Saved after the reply is complete: the client does not wait for it.
  if (opt_.state_cache && s.session && (finish == Finish::kStop || finish == Finish::kLength))
    opt_.state_cache->Save(s.session, s.history);
  floe_sampler_free(s.sampler);
  s.sampler = nullptr;
  s.text.reset();
  s.started = false;
  if (finish == Finish::kError) s.history.clear();  // unknown state: reset before reuse
  s.cached = 0;
  s.prefilled = 0;
  s.has_pending = false;
  s.generated = 0;
}

// The bytes `tok` adds after `prev`: detokenizing the pair keeps the tokenizer's rules about
// leading spaces (SentencePiece drops the dummy prefix of the first token after BOS only).
std::string Scheduler::TokenBytes(floe_token prev, floe_token tok) {
  auto decode = [&](const floe_token* ids, size_t n) {
    std::string out(64, '\0');
    size_t len = 0;
    floe_status st = floe_detokenize(model_, ids, n, out.data(), out.size(), &len);
    if (st == FLOE_ERR_OUT_OF_RANGE) {
      out.assign(len + 1, '\0');
      st = floe_detokenize(model_, ids, n, out.data(), out.size(), &len);
    }
    if (st != FLOE_OK) return std::string();
    out.resize(len);
    return out;
  };
  const floe_token pair[2] = {prev, tok};
  const std::string both = decode(pair, 2);
  const std::string first = decode(pair, 1);
  if (both.size() < first.size() || both.compare(0, first.size(), first) != 0)
    return decode(&tok, 1);
  return both.substr(first.size());
}

}  // namespace floe::serve
