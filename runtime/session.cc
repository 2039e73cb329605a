#include "runtime/session.h"

#include "runtime/token_text.h"

namespace floe {

const char* StopReasonName(StopReason r) {
  switch (r) {
    case StopReason::kMaxTokens: return "max tokens";
    case StopReason::kEndOfText: return "end of text";
    case StopReason::kCallback: return "stopped by callback";
    case StopReason::kContextFull: return "context full";
    case StopReason::kCancelled: return "cancelled";
  }
  return "?";
}

Result<std::unique_ptr<Session>> Session::Create(const Model& model, const SessionParams& params) {
  if (params.threads < 0) return InvalidArgument("threads must be >= 0 (0 = physical cores)");
  if (params.batch == 0) return InvalidArgument("batch must be >= 1");
  if (params.kv_dtype != DType::kF32 && params.kv_dtype != DType::kF16)
    return InvalidArgument("KV cache type must be f32 or f16");
  std::unique_ptr<Session> s(new Session(model, params.threads));
  StateOptions o;
  o.context_length = params.context_length;
  o.kv_dtype = params.kv_dtype;
  o.max_batch = params.batch;
  auto state = model.lm().NewState(o);
  if (!state.ok()) return state.status();
  s->state_ = std::move(state).value();
  s->logits_.assign(model.lm().vocab_size(), 0.0f);
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
  if (tokens.empty()) return InvalidArgument("no tokens to evaluate");
  const size_t V = vocab_size();
  const size_t before = position();
  Status st;
  if (all_logits) {
    all_logits_.resize(tokens.size() * V);
    st = model_.lm().Forward(*state_, tokens, LogitsMode::kAll, all_logits_.data(), threads_, &cancel_);
    if (st.ok()) std::copy(all_logits_.end() - V, all_logits_.end(), logits_.begin());
  } else {
    st = model_.lm().Forward(*state_, tokens, LogitsMode::kLast, logits_.data(), threads_, &cancel_);
  }
  // Keep the token history in step with what the state actually consumed.
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.begin() + (position() - before));
  return st;
}

Result<GenerateResult> Session::Generate(std::span<const int32_t> prompt, size_t max_new_tokens,
                                         Sampler& sampler, const TokenCallback& on_token) {
  GenerateResult result;
  if (!prompt.empty()) FLOE_RETURN_IF_ERROR(Eval(prompt));
  else if (tokens_.empty()) return InvalidArgument("nothing to generate from: empty prompt and empty session");
  const SpmTokenizer* tok = model_.tokenizer();
  TokenTextStream text(tok);
  if (!tokens_.empty()) text.SetPrevious(tokens_.back());
  const int32_t eos = tok ? tok->vocab().eos : -1;
  const int32_t bos = tok ? tok->vocab().bos : -1;
  while (result.generated < max_new_tokens) {
    const int32_t next = sampler.Sample(logits(), tokens_);
    if (next == eos || next == bos) {
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
    Status st = Eval(one);
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
