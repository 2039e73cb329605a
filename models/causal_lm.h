// The contract every architecture implements: a causal language model that turns tokens into
// next-token logits, with all per-sequence memory (KV cache, recurrent state, position) in a
// SequenceState it creates. A loaded model is immutable and may be shared by many sequences
// on many threads; each SequenceState belongs to one caller at a time.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "attention/attention_probe.h"
#include "attention/attention_settings.h"
#include "attention/head_plan.h"
#include "platform/base/dtype.h"
#include "platform/base/status.h"
#include "platform/base/tensor.h"
#include "platform/base/thread_context.h"

namespace floe {

// Which rows of logits a Forward call produces.
enum class LogitsMode { kNone, kLast, kAll };

struct StateOptions {
  size_t context_length = 0;     // 0 = the model's trained context
  DType kv_dtype = DType::kF32;  // KV cache storage: kF32 or kF16
  size_t max_batch = 64;         // tokens per forward chunk (prefill); bounds scratch memory
  // Attention backend for attention models (dense or IceFormer kNN); validated by NewState.
  // Models without attention (RWKV) accept only the dense default.
  AttentionSettings attention;
  // Optional per-head attention plan (attention/head_plan.h): each (layer, KV head) its own mode
  // and only the storage that mode needs; knn heads take their other kNN parameters from
  // `attention`. Models whose accepts_head_plan() is false refuse a state with one.
  std::optional<HeadPlan> head_plan;
  // Optional observer of individual attention queries (measurement tools); must outlive the
  // state and its clones. Thread-safe (see attention/attention_probe.h).
  AttentionProbe* attention_probe = nullptr;
};

class SequenceState {
 public:
  virtual ~SequenceState() = default;
  virtual size_t position() const = 0;      // tokens consumed so far
  virtual size_t capacity() const = 0;      // max tokens this state can hold
  virtual size_t memory_bytes() const = 0;  // cache + scratch owned by this state
  // The part of memory_bytes() that holds the sequence (KV cache, kNN index, recurrent state),
  // without scratch; states that do not tell it apart report memory_bytes().
  virtual size_t cache_bytes() const { return memory_bytes(); }
  // What the state would hold (cache, index, recurrent state, scratch) once it holds
  // `positions` tokens: the session's memory budget is checked against it before an eval
  // allocates. Caches count the rows of the positions held (the pages an allocation touches),
  // a kNN index the keys it would add. States of constant size return memory_bytes().
  virtual size_t memory_bytes_at(size_t positions) const {
    (void)positions;
    return memory_bytes();
  }
  virtual void Reset() = 0;                 // back to an empty sequence

  // Serialises everything needed to continue the sequence (position, KV cache / recurrent
  // state; not scratch) into *out, replacing its contents, in the platform/base/state_io.h format.
  // The payload starts with the position (u64): SavedStatePosition reads it without a restore
  // (a session checks a state against its memory budget before restoring it).
  virtual Status Save(std::vector<uint8_t>* out) const = 0;
  // Restores a state saved by Save from the same model with the same StateOptions; anything
  // else (another architecture or shape, truncated or trailing bytes) is kInvalidArgument and
  // leaves this state unchanged.
  virtual Status Restore(std::span<const uint8_t> bytes) = 0;
  // An independent deep copy that continues from the same point (fork a sequence).
  virtual Result<std::unique_ptr<SequenceState>> Clone() const = 0;
};

// kOutOfRange ("context full") when n more tokens do not fit after `position`.
inline Status CheckContextRoom(size_t position, size_t n, size_t capacity) {
  if (n <= capacity - position) return Status::Ok();
  return OutOfRange("context full: " + std::to_string(position) + " + " + std::to_string(n) +
                    " tokens exceed the context length " + std::to_string(capacity));
}

// The part of Forward every architecture shares: checks the arguments (tokens present, a
// logits buffer when logits are wanted, room for the tokens, ids inside the vocabulary), then
// splits `tokens` into chunks of at most `batch` and calls
//   chunk(const int32_t* tokens, size_t n, LogitsMode chunk_mode, float* chunk_logits) -> Status
// with kAll for every chunk (its own rows of `logits`), kLast only for the last chunk, kNone
// otherwise. Stops at the first failing chunk.
template <class ChunkFn>
Status ForwardInChunks(std::span<const int32_t> tokens, LogitsMode mode, float* logits,
                       size_t vocab_size, size_t position, size_t capacity, size_t batch,
                       const ChunkFn& chunk) {
  if (tokens.empty()) return InvalidArgument("no tokens to evaluate");
  if (mode != LogitsMode::kNone && logits == nullptr)
    return InvalidArgument("logits buffer is null");
  FLOE_RETURN_IF_ERROR(CheckContextRoom(position, tokens.size(), capacity));
  for (int32_t t : tokens)
    if (t < 0 || static_cast<size_t>(t) >= vocab_size)
      return OutOfRange("token id " + std::to_string(t) + " outside the vocabulary [0, " +
                        std::to_string(vocab_size) + ")");
  if (batch == 0) batch = 1;
  for (size_t done = 0; done < tokens.size();) {
    const size_t n = std::min(batch, tokens.size() - done);
    const bool last = done + n == tokens.size();
    const LogitsMode m = mode == LogitsMode::kAll              ? LogitsMode::kAll
                         : (mode == LogitsMode::kLast && last) ? LogitsMode::kLast
                                                               : LogitsMode::kNone;
    FLOE_RETURN_IF_ERROR(chunk(tokens.data() + done, n, m,
                               mode == LogitsMode::kAll ? logits + done * vocab_size : logits));
    done += n;
  }
  return Status::Ok();
}

class CausalLm {
 public:
  virtual ~CausalLm() = default;
  virtual std::string architecture() const = 0;
  virtual size_t vocab_size() const = 0;
  virtual size_t context_length() const = 0;
  // The first position whose logits row predicts the next token. 0 for every model that
  // predicts from the first token on; a Block Transformer predicts nothing inside its first
  // block (L_B - 1), and Forward writes zero rows before that position.
  virtual size_t first_predicted_position() const { return 0; }
  virtual Result<std::unique_ptr<SequenceState>> NewState(const StateOptions& options) const = 0;
  // Whether NewState takes StateOptions::head_plan (models with attention heads to plan), and
  // whether the plan may name `recurrent` heads (a model with recurrent blocks in place of
  // attention heads, as RecurFormer's). Models without attention heads refuse any plan.
  virtual bool accepts_head_plan() const { return false; }
  virtual bool has_recurrent_heads() const { return false; }
  // Weight views the loader may move before any state exists (runtime/engine/weight_repacking.h).
  // `products` reach the kernels only through MatVec / MatMul / MatMulMany (never read by row or
  // through ToF32), so their layout may change; `others` are read in place (norm vectors,
  // biases) and may only be copied unchanged, so that no file page between moved matrices stays
  // in use. Default: none.
  struct MovableWeights {
    std::vector<TensorView*> products, others;
  };
  virtual MovableWeights Movable() { return {}; }
  // Consumes `tokens` at positions state.position() onwards and advances the state. Writes
  // logits (one row of vocab_size floats per produced position: 1 row for kLast, n for kAll)
  // to `logits` unless mode is kNone. `cancel` (may be null) is checked between layers; on
  // cancellation returns kCancelled and the state is left at the last completed chunk.
  virtual Status Forward(SequenceState& state, std::span<const int32_t> tokens, LogitsMode mode,
                         float* logits, ThreadContext& threads,
                         const std::atomic<bool>* cancel) const = 0;

  // One decode step for several sequences at once: tokens[i] is appended to *states[i] (distinct
  // states of this model) and row i of `logits` (vocab_size floats each) receives its
  // next-token logits. Architectures that can share each weight read across the sequences
  // (one matrix-matrix product over the batch) override this; the default runs Forward per
  // sequence. Every state is validated before any is changed; on cancellation (checked between
  // layers) no state advances.
  virtual Status ForwardEach(std::span<SequenceState* const> states,
                             std::span<const int32_t> tokens, float* logits, ThreadContext& threads,
                             const std::atomic<bool>* cancel) const;
};

}  // namespace floe
