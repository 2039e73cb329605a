// A session = one sequence being evaluated on a shared, immutable Model: its state (KV cache
// or recurrent state, position), its thread context, its logits. One caller at a time per
// session; many sessions may share one Model across threads.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "runtime/engine/model.h"
#include "runtime/engine/sampler.h"

namespace floe {

struct SessionParams {
  int threads = 0;               // 0 = physical cores
  size_t context_length = 0;     // 0 = the model's trained context
  DType kv_dtype = DType::kF32;  // KV cache storage (f32 or f16)
  size_t batch = 64;             // prefill chunk size in tokens
  // Attention backend (dense, or IceFormer kNN attention for long contexts) and its
  // parameters; see attention/attention_settings.h. Checked by Create.
  AttentionSettings attention;
  // Optional per-head attention plan (docs/attention/head-plans.md; JSON: head_plan_json.h):
  // every (layer, KV head) its own mode (dense, knn, window, recurrent) and only the cache that
  // mode needs. Checked by Create: architectures without attention heads refuse it.
  std::optional<HeadPlan> head_plan;
  // Optional observer of attention queries (eval tools); shared by forks; must outlive them.
  AttentionProbe* attention_probe = nullptr;
  // Called on the evaluating thread after each prefill chunk with (tokens done, total) of the
  // current Eval; returning false stops it (kCancelled, state at that chunk). May be empty.
  std::function<bool(size_t done, size_t total)> progress;
  // Token history kept by the session (tokens(), saved with the state): 0 = every token; N =
  // only the last N, so a long stream through a recurrent model holds constant memory. A state
  // saved with a limit holds only those tokens and restores only into a session with a limit.
  size_t history_limit = 0;
  // Bytes the sequence state may hold (KV cache rows, kNN index, recurrent state, scratch;
  // SequenceState::memory_bytes_at); 0 = no limit. An eval, score or batch step that would take
  // the state past it fails with kOutOfMemory before anything is computed or allocated, and the
  // session stays usable; so does RestoreState of a saved state that would hold more than the
  // budget (the session unchanged); Create fails when even an empty state exceeds it.
  size_t memory_budget = 0;
};

enum class StopReason { kMaxTokens, kEndOfText, kCallback, kContextFull, kCancelled };
const char* StopReasonName(StopReason r);

struct GenerateResult {
  size_t generated = 0;
  StopReason reason = StopReason::kMaxTokens;
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> Create(const Model& model, const SessionParams& params);

  // Appends tokens to the sequence (chunked prefill). Afterwards logits() is the next-token
  // distribution after the last token; with all_logits, all_logits() has one row per token.
  // On error (kCancelled, kOutOfRange for a full context, bad ids) the session stays usable:
  // its position reflects the chunks that completed.
  Status Eval(std::span<const int32_t> tokens, bool all_logits = false);

  // Appends tokens as Eval does and writes nll[i] = -log p(tokens[i] | everything before it),
  // in nats, computed in double from the logits row that precedes tokens[i] (for i = 0 the
  // session's current logits: the session must hold at least one token). Rows come from chunked
  // prefill, `batch` tokens at a time; memory is bounded by one chunk of logits whatever the
  // length. nll.size() must equal tokens.size(). On error the session stays usable and
  // position() tells how many tokens were consumed; their nll values are written.
  Status Score(std::span<const int32_t> tokens, std::span<double> nll);

  // One decode step for several sessions of the same model: tokens[i] is appended to
  // *sessions[i] and its logits() updated, as Eval of one token would, but the model reads
  // each weight once for the whole batch (CausalLm::ForwardEach). Sessions must be distinct;
  // `threads` runs the step (the sessions' own thread contexts are not used). On error no
  // session changes.
  static Status EvalBatch(std::span<Session* const> sessions, std::span<const int32_t> tokens,
                          ThreadContext& threads);

  std::span<const float> logits() const { return {logits_.data(), logits_.size()}; }
  const std::vector<float>& all_logits() const { return all_logits_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  size_t position() const { return state_->position(); }
  size_t capacity() const { return state_->capacity(); }
  // Memory the sequence state holds: KV cache, scratch, and a kNN attention index.
  size_t state_bytes() const { return state_->memory_bytes(); }
  // The part of state_bytes() that holds the sequence (KV cache, kNN index), without scratch.
  size_t cache_bytes() const { return state_->cache_bytes(); }
  size_t vocab_size() const { return model_.lm().vocab_size(); }
  const Model& model() const { return model_; }
  ThreadContext& threads() { return threads_; }
  void Reset();

  // The whole sequence (model state, token history, last logits) as bytes, and back. Restore
  // needs a session of the same model with compatible params (same KV type, capacity >= the
  // saved position); on any error the session is unchanged. The bytes are sealed with a
  // checksum (platform/base/state_io.h): truncated or modified bytes are kInvalidArgument.
  // Fork = an independent copy.
  Status SaveState(std::vector<uint8_t>* out) const;
  Status RestoreState(std::span<const uint8_t> bytes);
  Result<std::unique_ptr<Session>> Fork() const;
  const SessionParams& params() const { return params_; }

  // Set from any thread to stop a running Eval/Generate between layers (a prompt's prefill
  // returns kCancelled; a generation stops with StopReason::kCancelled). Cleared at the start of
  // each Eval/Generate call, so it acts on the call running now.
  void RequestCancel() { cancel_.store(true); }

  // Evaluates `prompt`, then samples up to max_new_tokens. For each new token calls
  // on_token(id, text) where text is its UTF-8-complete decoded text (may be empty while a
  // multi-byte character is incomplete); returning false stops. Stops at EOS (and at BOS,
  // which llama2.c-style models emit between documents). The last token handed to on_token is
  // not yet evaluated: to continue the sequence, Eval it (or call Generate with it as prompt).
  using TokenCallback = std::function<bool(int32_t id, std::string_view text)>;
  Result<GenerateResult> Generate(std::span<const int32_t> prompt, size_t max_new_tokens,
                                  Sampler& sampler, const TokenCallback& on_token);

 private:
  Status EvalUncleared(std::span<const int32_t> tokens, bool all_logits);
  // kOutOfMemory when `more` tokens would take the state past params_.memory_budget.
  Status CheckBudget(size_t more) const;
  void AppendHistory(std::span<const int32_t> tokens);
  Session(const Model& model, const SessionParams& params)
      : model_(model), params_(params), threads_(params.threads) {}
  const Model& model_;
  SessionParams params_;
  ThreadContext threads_;
  std::unique_ptr<SequenceState> state_;
  std::vector<float> logits_;
  std::vector<float> all_logits_;
  std::vector<int32_t> tokens_;
  std::atomic<bool> cancel_{false};
};

}  // namespace floe
