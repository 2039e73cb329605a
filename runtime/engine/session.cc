#include "runtime/engine/session.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <string>

#include "platform/base/aligned_buffer.h"
#include "platform/base/state_io.h"
#include "runtime/tokenizers/token_text.h"

namespace floe {

const char* StopReasonName(StopReason r) {
  switch (r) {
    case StopReason::kMaxTokens:
      return "max tokens";
    case StopReason::kEndOfText:
      return "end of text";
    case StopReason::kCallback:
      return "stopped by callback";
    case StopReason::kContextFull:
      return "context full";
    case StopReason::kCancelled:
      return "cancelled";
  }
  return "?";
}

namespace {
constexpr size_t kMaxSessionBatch = size_t(1) << 16;
}  // namespace

Result<std::unique_ptr<Session>> Session::Create(const Model& model, const SessionParams& params) {
  if (params.threads < 0) return InvalidArgument("threads must be >= 0 (0 = physical cores)");
  if (params.batch == 0) return InvalidArgument("batch must be >= 1");
  // Models size their scratch as batch x (floats per row): a cap keeps that product far from
  // overflow and from asking for memory no prefill chunk needs.
  if (params.batch > kMaxSessionBatch)
    return InvalidArgument("batch " + std::to_string(params.batch) + " is over the limit of " +
                           std::to_string(kMaxSessionBatch) + " tokens per prefill chunk");
  if (params.kv_dtype != DType::kF32 && params.kv_dtype != DType::kF16)
    return InvalidArgument("KV cache type must be f32 or f16");
  if (params.head_plan && !model.lm().accepts_head_plan())
    return InvalidArgument("architecture '" + model.lm().architecture() +
                           "' does not take a head plan: its layers have no attention heads to "
                           "plan (drop --head-plan / head_plan_json)");
  std::unique_ptr<Session> s(new Session(model, params));
  StateOptions o;
  o.context_length = params.context_length;
  o.kv_dtype = params.kv_dtype;
  o.max_batch = params.batch;
  o.attention = params.attention;
  o.attention_probe = params.attention_probe;
  o.head_plan = params.head_plan;
  auto state = model.lm().NewState(o);
  if (!state.ok()) return state.status();
  s->state_ = std::move(state).value();
  if (params.memory_budget != 0 && s->state_->memory_bytes_at(0) > params.memory_budget)
    return OutOfMemory("an empty sequence state needs " +
                       std::to_string(s->state_->memory_bytes_at(0)) +
                       " bytes (scratch for a prefill chunk of " + std::to_string(params.batch) +
                       " tokens), more than the memory budget of " +
                       std::to_string(params.memory_budget) +
                       " bytes: raise the budget or lower the batch");
  s->logits_.assign(model.lm().vocab_size(), 0.0f);
  return s;
}

Status Session::CheckBudget(size_t more) const {
  const size_t budget = params_.memory_budget;
  if (budget == 0) return Status::Ok();
  const size_t at = position() + std::min(more, capacity() - position());
  const size_t need = state_->memory_bytes_at(at);
  if (need <= budget) return Status::Ok();
  return OutOfMemory(std::to_string(more) + " more tokens need " + std::to_string(need) +
                     " bytes of cache, index and state (at position " + std::to_string(at) +
                     "), over the session's memory budget of " + std::to_string(budget) +
                     " bytes: evaluate fewer tokens, reset or fork a shorter sequence, or raise "
                     "the budget");
}

Status Session::SaveState(std::vector<uint8_t>* out) const {
  if (out == nullptr) return InvalidArgument("SaveState: out is null");
  std::vector<uint8_t> inner;
  FLOE_RETURN_IF_ERROR(state_->Save(&inner));
  const uint64_t shape[] = {vocab_size()};
  StateWriter w(out, "session", shape);
  w.PutU64(tokens_.size());
  w.PutRaw(tokens_.data(), tokens_.size() * sizeof(int32_t));
  w.PutRaw(logits_.data(), logits_.size() * sizeof(float));
  w.PutU64(inner.size());
  w.PutRaw(inner.data(), inner.size());
  SealState(out);
  return Status::Ok();
}

Status Session::RestoreState(std::span<const uint8_t> sealed) {
  std::span<const uint8_t> bytes;
  FLOE_RETURN_IF_ERROR(UnsealState(sealed, &bytes));
  StateReader r(bytes);
  const uint64_t shape[] = {vocab_size()};
  FLOE_RETURN_IF_ERROR(r.ReadHeader("session", shape));
  uint64_t n = 0;
  // Bounded by the bytes present too, not only by the capacity: a short state never sizes a
  // large allocation.
  FLOE_RETURN_IF_ERROR(
      r.TakeU64(&n, std::min<uint64_t>(capacity(), r.remaining() / sizeof(int32_t)), "token count"));
  std::vector<int32_t> tokens(n);
  FLOE_RETURN_IF_ERROR(r.TakeRaw(tokens.data(), n * sizeof(int32_t), "tokens"));
  std::vector<float> logits(vocab_size());
  FLOE_RETURN_IF_ERROR(r.TakeRaw(logits.data(), logits.size() * sizeof(float), "logits"));
  uint64_t inner = 0;
  FLOE_RETURN_IF_ERROR(r.TakeU64(&inner, r.remaining(), "model state size"));
  if (inner != r.remaining()) return InvalidArgument("session state has trailing bytes");
  const auto model_bytes = bytes.subspan(bytes.size() - inner);
  if (params_.memory_budget != 0) {
    // Checked before the state is touched: a state the budget cannot hold changes nothing.
    FLOE_ASSIGN_OR_RETURN(const uint64_t at, SavedStatePosition(model_bytes));
    const size_t need = state_->memory_bytes_at(size_t(std::min<uint64_t>(at, capacity())));
    if (need > params_.memory_budget)
      return OutOfMemory("the saved state holds " + std::to_string(at) + " positions, which need " +
                         std::to_string(need) + " bytes of cache, index and state, over the "
                         "session's memory budget of " + std::to_string(params_.memory_budget) +
                         " bytes: restore it into a session with a larger budget (or a head "
                         "plan that keeps less); this session is unchanged");
  }
  FLOE_RETURN_IF_ERROR(state_->Restore(model_bytes));
  const size_t limit = params_.history_limit;
  if (state_->position() != n && (limit == 0 || n > state_->position())) {
    const bool partial = n < state_->position();
    state_->Reset();
    tokens_.clear();
    return InvalidArgument(
        partial ? "session state holds only the last " + std::to_string(n) + " of its tokens " +
                      "(saved with a history limit): restore it into a session with a limit"
                : std::string("session state: token count does not match the model state"));
  }
  if (limit != 0 && tokens.size() > limit)
    tokens.erase(tokens.begin(), tokens.end() - std::ptrdiff_t(limit));
  tokens_ = std::move(tokens);
  logits_ = std::move(logits);
  all_logits_.clear();
  return Status::Ok();
}

Status Session::EvalBatch(std::span<Session* const> sessions, std::span<const int32_t> tokens,
                          ThreadContext& threads) {
  if (sessions.size() != tokens.size())
    return InvalidArgument("EvalBatch: " + std::to_string(sessions.size()) + " sessions but " +
                           std::to_string(tokens.size()) + " tokens");
  if (sessions.empty()) return Status::Ok();
  std::vector<SequenceState*> states(sessions.size());
  for (size_t i = 0; i < sessions.size(); ++i) {
    if (sessions[i] == nullptr)
      return InvalidArgument("EvalBatch: session " + std::to_string(i) + " is null");
    if (&sessions[i]->model_ != &sessions[0]->model_)
      return InvalidArgument("EvalBatch: sessions belong to different models");
    states[i] = sessions[i]->state_.get();
    FLOE_RETURN_IF_ERROR(sessions[i]->CheckBudget(1));
  }
  const CausalLm& lm = sessions[0]->model_.lm();
  const size_t V = lm.vocab_size();
  float* logits = threads.Scratch(ScratchSlot::kBatchLogits, sessions.size() * V);
  if (logits == nullptr) return OutOfMemory("EvalBatch: no memory for the logits");
  FLOE_RETURN_IF_ERROR(lm.ForwardEach(states, tokens, logits, threads, nullptr));
  for (size_t i = 0; i < sessions.size(); ++i) {
    Session& s = *sessions[i];
    std::copy(logits + i * V, logits + (i + 1) * V, s.logits_.begin());
    s.AppendHistory(tokens.subspan(i, 1));
    s.all_logits_.clear();
  }
  return Status::Ok();
}

Result<std::unique_ptr<Session>> Session::Fork() const {
  std::unique_ptr<Session> s(new Session(model_, params_));
  FLOE_ASSIGN_OR_RETURN(s->state_, state_->Clone());
  s->tokens_ = tokens_;
  s->logits_ = logits_;
  return s;
}

void Session::Reset() {
  state_->Reset();
  tokens_.clear();
  all_logits_.clear();
  std::fill(logits_.begin(), logits_.end(), 0.0f);
}

Status Session::Eval(std::span<const int32_t> tokens, bool all_logits) {
  cancel_.store(false);
  return EvalUncleared(tokens, all_logits);
}

Status Session::EvalUncleared(std::span<const int32_t> tokens, bool all_logits) {
  if (tokens.empty()) return InvalidArgument("no tokens to evaluate");
  const size_t V = vocab_size();
  const size_t before = position();
  // Checked before anything is sized by the input: a token list longer than the room left is
  // the model's "context full" error, without first allocating its logits.
  FLOE_RETURN_IF_ERROR(CheckContextRoom(before, tokens.size(), capacity()));
  FLOE_RETURN_IF_ERROR(CheckBudget(tokens.size()));
  Status st;
  if (all_logits) {
    // Bounded by the machine too (docs/allocation-audit.md item 13): rows the memory could
    // never hold are refused before anything is reserved; floe logits evaluates in chunks.
    const size_t ram = PhysicalMemoryBytes();
    if (tokens.size() > all_logits_.max_size() / V ||
        (ram > 0 && tokens.size() > ram / sizeof(float) / V))
      return OutOfMemory("the logits of " + std::to_string(tokens.size()) + " tokens x " +
                         std::to_string(V) + " do not fit in memory: evaluate them in chunks");
    try {
      all_logits_.resize(tokens.size() * V);
    } catch (const std::bad_alloc&) {
      return OutOfMemory("cannot allocate the logits of " + std::to_string(tokens.size()) +
                         " tokens x " + std::to_string(V) + " (" +
                         std::to_string(tokens.size() * V * sizeof(float) >> 20) + " MiB)");
    }
  }
  // One Forward per chunk of params_.batch tokens, so long prompts report progress (and can be
  // stopped by it) between chunks; only the chunk holding the last token produces logits unless
  // all rows are wanted.
  const size_t chunk = params_.progress ? params_.batch : tokens.size();
  for (size_t done = 0; done < tokens.size() && st.ok();) {
    const size_t n = std::min(chunk, tokens.size() - done);
    const bool last = done + n == tokens.size();
    const auto part = tokens.subspan(done, n);
    if (all_logits) {
      st = model_.lm().Forward(*state_, part, LogitsMode::kAll, all_logits_.data() + done * V,
                               threads_, &cancel_);
    } else {
      st = model_.lm().Forward(*state_, part, last ? LogitsMode::kLast : LogitsMode::kNone,
                               logits_.data(), threads_, &cancel_);
    }
    if (!st.ok()) break;
    done += n;
    if (params_.progress && !params_.progress(done, tokens.size()))
      st = last ? Status::Ok() : Cancelled("evaluation stopped by the progress callback");
  }
  if (st.ok() && all_logits) std::copy(all_logits_.end() - V, all_logits_.end(), logits_.begin());
  // Keep the token history in step with what the state actually consumed.
  AppendHistory(tokens.first(position() - before));
  return st;
}

void Session::AppendHistory(std::span<const int32_t> tokens) {
  const size_t limit = params_.history_limit;
  if (limit != 0 && tokens.size() >= limit) {
    tokens_.assign(tokens.end() - std::ptrdiff_t(limit), tokens.end());
    return;
  }
  if (limit != 0 && tokens_.size() + tokens.size() > limit)
    tokens_.erase(tokens_.begin(),
                  tokens_.begin() + std::ptrdiff_t(tokens_.size() + tokens.size() - limit));
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
}

namespace {

// -log softmax(row)[target], in double (max-shifted).
double NegLogLikelihood(const float* row, size_t vocab, int32_t target) {
  double m = row[0];
  for (size_t i = 1; i < vocab; ++i) m = std::max(m, double(row[i]));
  double sum = 0;
  for (size_t i = 0; i < vocab; ++i) sum += std::exp(double(row[i]) - m);
  return std::log(sum) + m - double(row[target]);
}

}  // namespace

Status Session::Score(std::span<const int32_t> tokens, std::span<double> nll) {
  cancel_.store(false);
  if (tokens.empty()) return InvalidArgument("no tokens to score");
  if (nll.size() != tokens.size())
    return InvalidArgument("Score: " + std::to_string(tokens.size()) + " tokens but room for " +
                           std::to_string(nll.size()) + " values");
  if (position() == 0)
    return InvalidArgument(
        "Score: the session holds no token, so nothing predicts the first one: evaluate at "
        "least one token (e.g. BOS) first");
  const size_t V = vocab_size();
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || size_t(tokens[i]) >= V)
      return InvalidArgument("token " + std::to_string(tokens[i]) + " at " + std::to_string(i) +
                             " is outside the vocabulary (" + std::to_string(V) + ")");
  FLOE_RETURN_IF_ERROR(CheckContextRoom(position(), tokens.size(), capacity()));
  FLOE_RETURN_IF_ERROR(CheckBudget(tokens.size()));
  const size_t chunk = std::min(std::max<size_t>(params_.batch, 1), tokens.size());
  try {
    all_logits_.resize(chunk * V);
  } catch (const std::bad_alloc&) {
    return OutOfMemory("Score: cannot allocate the logits of a chunk of " + std::to_string(chunk) +
                       " tokens");
  }
  Status st;
  for (size_t done = 0; done < tokens.size();) {
    const size_t n = std::min(chunk, tokens.size() - done);
    const auto part = tokens.subspan(done, n);
    const size_t before = position();
    st = model_.lm().Forward(*state_, part, LogitsMode::kAll, all_logits_.data(), threads_,
                             &cancel_);
    const size_t consumed = position() - before;
    for (size_t j = 0; j < consumed; ++j) {
      const float* prev = j == 0 ? logits_.data() : all_logits_.data() + (j - 1) * V;
      nll[done + j] = NegLogLikelihood(prev, V, part[j]);
    }
    if (consumed > 0)
      std::copy_n(all_logits_.data() + (consumed - 1) * V, V, logits_.begin());
    AppendHistory(part.first(consumed));
    if (!st.ok()) break;
    done += n;
    if (params_.progress && !params_.progress(done, tokens.size()) && done < tokens.size()) {
      st = Cancelled("scoring stopped by the progress callback");
      break;
    }
  }
  all_logits_.clear();
  return st;
}

Result<GenerateResult> Session::Generate(std::span<const int32_t> prompt, size_t max_new_tokens,
                                         Sampler& sampler, const TokenCallback& on_token) {
  GenerateResult result;
  cancel_.store(false);  // once per call: a cancel during sampling or the callback is kept
  if (!prompt.empty())
    FLOE_RETURN_IF_ERROR(EvalUncleared(prompt, false));
  else if (tokens_.empty())
    return InvalidArgument("nothing to generate from: empty prompt and empty session");
  const Tokenizer* tok = model_.tokenizer();
  TokenTextStream text(tok);
  if (!tokens_.empty()) text.SetPrevious(tokens_.back());
  const int32_t bos = tok ? tok->bos() : -1;
  while (result.generated < max_new_tokens) {
    const int32_t next = sampler.Sample(logits(), tokens_);
    if ((tok && tok->IsEndOfGeneration(next)) || next == bos) {
      result.reason = StopReason::kEndOfText;
      break;
    }
    ++result.generated;
    const std::string piece = text.Next(next);
    if (on_token && !on_token(next, piece)) {
      result.reason = StopReason::kCallback;
      return result;
    }
    if (result.generated == max_new_tokens) break;
    if (position() >= capacity()) {
      result.reason = StopReason::kContextFull;
      break;
    }
    const int32_t one[1] = {next};
    Status st = EvalUncleared(one, false);
    if (st.code() == StatusCode::kCancelled) {
      result.reason = StopReason::kCancelled;
      return result;
    }
    FLOE_RETURN_IF_ERROR(st);
  }
  if (on_token) {
    const std::string rest = text.Flush();
    if (!rest.empty()) on_token(-1, rest);
  }
  return result;
}

}  // namespace floe
