// GoldFinch (Goldstein, Obeid, Alcaide, Song, Cheah 2024, arXiv 2407.12077): a hybrid whose
// first layers are Finch-C2 (RWKV-6 time mix without the gate, keys scaled by 1 - w, a second
// value path v2 instead of the bonus u) and whose last layers are GOLD softmax attention layers
// that all read one compressed "TokenCat" cache:
//   x = LN0(emb[token]); per layer: x += TimeMix(LN1(x)), x += ChannelMix(LN2(x))
//   at the first GOLD layer: cache += (token, c = W_a x)          (D/16 values per token)
//   GOLD layer: keys  k_j = f(rms_norm(W_b [LN0(emb[id_j]); c_j]), its predecessor)
//               values v_j = g(rms_norm(LN0(emb[id_j])), its predecessor)
//               y_t = softmax(q_t k_{0..t}^T / sqrt(N)) v_{0..t}  (lower-right causal)
//   logits = head · LN_out(x)
// Prefill runs the Finch-C2 layers over the whole prompt in chunks (constant memory, their
// state carried as in RWKV-6) and fills the cache; the GOLD layers run only where logits are
// asked for, plus the few preceding positions their token shifts need: a GOLD layer's output at
// t depends on its input at t, t-1 and t-2 (the time-mix and channel-mix token shifts), so
// exact logits at the last position need 2 * (number of GOLD layers) earlier positions at the
// first GOLD layer, whatever the prompt length. Those first-GOLD-layer inputs of the last
// positions are kept in the state (a ring of 2G rows).
// Decode: by default every step rebuilds the keys and values of every cached position in every
// GOLD layer from the TokenCat cache (O(context) matrix work per step, no memory beyond the
// cache). With AttentionSettings::gold_kv_cache (or a kNN backend, which implies it) they are
// also kept materialised, a speed cache that prefill fills for every position (O(1) matrix work
// per token) and decode extends by one row per GOLD layer; attention then reads them with the
// dense kernels (attention/dense) or IceFormer's kNN attention (attention/knn).
#pragma once

#include <memory>

#include "models/causal_lm.h"
#include "models/goldfinch/goldfinch_weights.h"

namespace floe {

class GoldfinchModel final : public CausalLm {
 public:
  static constexpr size_t kMaxPositions = 0x7fffffff;

  // The network's tensors (views into a file) must outlive the model.
  static Result<std::unique_ptr<GoldfinchModel>> Create(GoldfinchNetwork network);

  std::string architecture() const override { return "goldfinch"; }
  size_t vocab_size() const override { return net_.config.vocab_size; }
  size_t context_length() const override { return kMaxPositions; }
  const GoldfinchConfig& config() const { return net_.config; }
  const GoldfinchNetwork& network() const { return net_; }

  // StateOptions::kv_dtype is the TokenCat cache's value type (kF32 or kF16); attention.backend
  // dense, ice or faiss on the GOLD layers; attention.gold_kv_cache the speed cache. The
  // attention probe, when given, is asked Wants(layer, head, position) for every GOLD query
  // computed (and given the query and output for the ones it wants).
  Result<std::unique_ptr<SequenceState>> NewState(const StateOptions& options) const override;
  Status Forward(SequenceState& state, std::span<const int32_t> tokens, LogitsMode mode,
                 float* logits, ThreadContext& threads,
                 const std::atomic<bool>* cancel) const override;

  // Bytes of the TokenCat cache per token for a value type: 4 (the id) + (D/16) * sizeof.
  size_t cache_bytes_per_token(DType kv_dtype) const;
  // Bytes of the GOLD key/value speed cache per token (when on): 2 * GOLD layers * D * 4.
  size_t speed_cache_bytes_per_token() const;
  // Bytes the speed cache of a state of this model holds now (its capacity; 0 when off or when
  // `state` is not a GoldFinch state).
  static size_t speed_cache_bytes(const SequenceState& state);

  class State;

 private:
  explicit GoldfinchModel(GoldfinchNetwork n) : net_(std::move(n)) {}
  Status ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode, float* logits,
                      ThreadContext& threads, const std::atomic<bool>* cancel) const;
  void FinchTimeMix(State& s, size_t l, size_t n, ThreadContext& threads) const;
  void ChannelMix(State& s, size_t l, float* x, size_t n, const float* shift_in, float* shift_out,
                  ThreadContext& threads) const;
  // GOLD layer l over the positions [first, first + n) whose layer inputs are the rows of
  // `x` (updated in place); `shift_in` / `shift_out` its time-mix token shift.
  Status GoldTimeMix(State& s, size_t l, float* x, size_t first, size_t n, const float* shift_in,
                     float* shift_out, ThreadContext& threads) const;
  // Softmax attention of the n queries in s.gq (positions [first, first + n)) over the speed
  // cache of GOLD layer l (dense or kNN), into s.gatt.
  Status GoldAttendCached(State& s, size_t l, size_t first, size_t n, ThreadContext& threads) const;
  // Without the speed cache: the same attention, rebuilding every key and value it reads.
  void RebuildAndAttend(State& s, size_t l, size_t first, size_t n, ThreadContext& threads) const;
  // Fills the speed cache up to position `end` (exclusive) from the TokenCat cache.
  Status FillSpeedCache(State& s, size_t end, ThreadContext& threads) const;
  // Keys and values of GOLD layer l for the cached positions [j0, j1) into s.kbuf / s.vbuf.
  void GoldKeysValues(State& s, size_t l, size_t j0, size_t j1, ThreadContext& threads) const;

  GoldfinchNetwork net_;
};

}  // namespace floe
