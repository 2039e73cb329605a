#include "models/llama/llama_model.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <vector>

#include "attention/dense_attention.h"
#include "attention/ice/ice_attention.h"
#include "attention/ice/ice_index.h"
#include "platform/kernels/ops.h"

namespace floe {

// KV cache + activation scratch for one sequence; sized once, nothing allocated per token
// (dense). With ice attention, also the kNN index, which grows with the sequence.
class LlamaModel::State final : public SequenceState {
 public:
  size_t position() const override { return pos; }
  size_t capacity() const override { return cache.capacity(); }
  size_t memory_bytes() const override {
    return cache.bytes() + scratch.size() * sizeof(float) + (ice ? index.bytes() + shared.bytes() : 0);
  }
  void Reset() override {
    pos = 0;
    index.Clear();
    shared.Clear();
  }

  // Header fingerprint: everything the saved bytes' layout depends on. Capacity is not part of
  // it: a state restores into any state of the same model whose capacity holds its position.
  // The kNN index is not saved: Restore rebuilds it from the restored keys, which gives the
  // very index the original sequence had (KnnIndex: DCI and FAISS indexes depend only on the
  // keys and their order), at a cost of O(n m L log n) per (layer, kv head) instead of state bytes. So
  // a state saved with any backend restores into a session with any backend. An ice state ends
  // with the candidates its heads share in their current blocks (ice::SharedCandidates), so a
  // restored sequence ranks what the uninterrupted one would; other backends skip that section.
  std::vector<uint64_t> Shape() const {
    return {cache.n_layers(), cache.n_kv_heads(), cache.head_dim(), uint64_t(cache.dtype())};
  }
  Status Save(std::vector<uint8_t>* out) const override {
    const auto shape = Shape();
    StateWriter w(out, "llama", shape);
    w.PutU64(pos);
    cache.SavePrefix(pos, w);
    if (ice) shared.Save(w);
    return Status::Ok();
  }
  Status Restore(std::span<const uint8_t> bytes) override {
    // Everything is checked before the cache is written, so a bad state changes nothing.
    StateReader r(bytes);
    FLOE_RETURN_IF_ERROR(r.ReadHeader("llama", Shape()));
    uint64_t n = 0;
    FLOE_RETURN_IF_ERROR(r.TakeU64(&n, cache.capacity(), "position"));
    const size_t kv_bytes = 2 * cache.n_layers() * cache.prefix_bytes(n);
    if (r.remaining() < kv_bytes)
      return InvalidArgument("session state size does not match its position (" +
                             std::to_string(bytes.size()) + " bytes)");
    // The optional section after the keys and values (shared kNN candidates), checked first.
    const size_t tail = r.remaining() - kv_bytes;
    ice::SharedCandidates restored;
    if (ice) restored.Init(cache.n_layers(), cache.n_kv_heads(), options.attention.search_block);
    if (tail > 0) FLOE_RETURN_IF_ERROR(restored.Restore(bytes.subspan(bytes.size() - tail), n));
    FLOE_RETURN_IF_ERROR(cache.RestorePrefix(n, r));
    pos = n;
    if (ice) shared = std::move(restored);
    if (ice) {
      if (Status st = index.Rebuild(cache, n, nullptr); !st.ok()) {
        Reset();  // the cache was already replaced: fall back to an empty, consistent state
        return st;
      }
    }
    return Status::Ok();
  }
  Result<std::unique_ptr<SequenceState>> Clone() const override {
    auto c = std::make_unique<State>();
    FLOE_RETURN_IF_ERROR(c->Init(config, options));
    FLOE_RETURN_IF_ERROR(c->cache.CopyPrefixFrom(cache, pos));
    FLOE_RETURN_IF_ERROR(c->index.CopyFrom(index));
    c->shared = shared;
    c->pos = pos;
    return std::unique_ptr<SequenceState>(std::move(c));
  }

  Status Init(const LlamaConfig& c, const StateOptions& o) {
    config = c;
    options = o;
    batch = std::max<size_t>(1, o.max_batch);
    const size_t ctx = o.context_length ? o.context_length : c.context_length;
    FLOE_RETURN_IF_ERROR(o.attention.Validate(ctx));
    FLOE_RETURN_IF_ERROR(cache.Init(c.n_layers, c.n_kv_heads, c.head_dim, ctx, o.kv_dtype));
    ice = o.attention.backend == AttentionBackend::kIce ||
          o.attention.backend == AttentionBackend::kFaiss;
    if (ice) {
      FLOE_RETURN_IF_ERROR(index.Init(c.n_layers, c.n_kv_heads, c.head_dim, o.attention));
      shared.Init(c.n_layers, c.n_kv_heads, o.attention.search_block);
    }
    const size_t per_token = 2 * c.dim + 2 * c.q_dim() + 2 * c.kv_dim() + 2 * c.ffn_dim;
    FLOE_RETURN_IF_ERROR(scratch.Resize(batch * per_token));
    float* p = scratch.data();
    auto take = [&](size_t n) { float* r = p; p += batch * n; return r; };
    x = take(c.dim);
    xb = take(c.dim);
    q = take(c.q_dim());
    att = take(c.q_dim());
    k = take(c.kv_dim());
    v = take(c.kv_dim());
    gate = take(c.ffn_dim);
    up = take(c.ffn_dim);
    return Status::Ok();
  }

  LlamaConfig config;
  StateOptions options;
  KvCache cache;
  bool ice = false;      // options.attention.backend is kIce or kFaiss (kNN attention)
  ice::IceIndex index;   // kNN only: keys [sinks, IndexLimit(pos)) of every (layer, kv head)
  IceScratchPool ice_scratch;  // ice only: per-thread search memory, reused across steps
  ice::SharedCandidates shared;  // ice only: candidates of each head's current block
  AlignedBuffer<float> scratch;
  size_t pos = 0;
  size_t batch = 1;
  float *x = nullptr, *xb = nullptr, *q = nullptr, *att = nullptr, *k = nullptr, *v = nullptr,
        *gate = nullptr, *up = nullptr;
};

Result<std::unique_ptr<LlamaModel>> LlamaModel::Create(const LlamaConfig& config, LlamaWeights weights) {
  FLOE_RETURN_IF_ERROR(config.Validate());
  FLOE_RETURN_IF_ERROR(ValidateLlamaWeights(config, weights));
  return std::unique_ptr<LlamaModel>(new LlamaModel(config, std::move(weights)));
}

Result<std::unique_ptr<SequenceState>> LlamaModel::NewState(const StateOptions& options) const {
  if (options.context_length > config_.context_length)
    return InvalidArgument("context length " + std::to_string(options.context_length) +
                           " exceeds the model's trained context " +
                           std::to_string(config_.context_length));
  auto state = std::make_unique<State>();
  FLOE_RETURN_IF_ERROR(state->Init(config_, options));
  return std::unique_ptr<SequenceState>(std::move(state));
}

Status LlamaModel::Forward(SequenceState& base, std::span<const int32_t> tokens, LogitsMode mode,
                           float* logits, ThreadContext& threads,
                           const std::atomic<bool>* cancel) const {
  State* s = dynamic_cast<State*>(&base);
  if (s == nullptr) return InvalidArgument("sequence state does not belong to a llama model");
  return ForwardInChunks(tokens, mode, logits, config_.vocab_size, s->pos, s->capacity(), s->batch,
                         [&](const int32_t* t, size_t n, LogitsMode m, float* out) {
                           return ForwardChunk(*s, t, n, m, out, threads, cancel);
                         });
}

Status LlamaModel::Attend(State& s, size_t layer, size_t n, const float* q, float* out,
                          ThreadContext* threads) const {
  if (!s.ice) {
    DenseAttentionArgs args;
    args.cache = &s.cache;
    args.layer = layer;
    args.n_heads = config_.n_heads;
    args.n_tokens = n;
    args.first_pos = s.pos;
    args.q = q;
    args.out = out;
    DenseAttention(args, threads);
    return Status::Ok();
  }
  // IceAttention grows the index as its searches need (see ice::IndexLimit); keys an
  // interrupted chunk indexed past what positions [0, pos) need are not this sequence's.
  FLOE_RETURN_IF_ERROR(s.index.Truncate(layer, ice::IndexLimit(s.options.attention, s.pos)));
  // Candidates made by queries of an interrupted chunk (at positions >= pos) are not this
  // sequence's: dropped, like that chunk's keys in the index.
  s.shared.DropFrom(layer, s.pos);
  IceAttentionArgs args;
  args.cache = &s.cache;
  args.index = &s.index;
  args.settings = &s.options.attention;
  args.layer = layer;
  args.n_heads = config_.n_heads;
  args.n_tokens = n;
  args.first_pos = s.pos;
  args.q = q;
  args.out = out;
  args.probe = s.options.attention_probe;
  args.scratch = &s.ice_scratch;
  args.shared = &s.shared;
  return IceAttention(args, threads);
}

namespace {

// Y = W X for n rows of X: matrix-vector for one token, tiled matrix-matrix otherwise.
void Project(const TensorView& w, const float* x, size_t n, float* y, ThreadContext& threads) {
  if (n == 1) MatVec(w, x, y, &threads);
  else MatMul(w, x, n, y, &threads);
}

// Several projections of the same rows (q/k/v, gate/up) in one pass over the threads.
void ProjectMany(std::initializer_list<const TensorView*> ws, const float* x, size_t n,
                 std::initializer_list<float*> ys, ThreadContext& threads) {
  MatMulMany({ws.begin(), ws.size()}, x, n, {ys.begin(), ys.size()}, &threads);
}

}  // namespace

Status LlamaModel::ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode,
                                float* logits, ThreadContext& threads,
                                const std::atomic<bool>* cancel) const {
  const LlamaConfig& c = config_;
  const size_t D = c.dim, QD = c.q_dim(), KVD = c.kv_dim(), F = c.ffn_dim;
  for (size_t t = 0; t < n; ++t) ToF32(weights_.token_embd, size_t(tokens[t]) * D, D, s.x + t * D);

  for (size_t l = 0; l < c.n_layers; ++l) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return Cancelled("evaluation cancelled");
    const LlamaLayerWeights& L = weights_.layers[l];
    // Attention block.
    for (size_t t = 0; t < n; ++t) RmsNorm(s.x + t * D, L.attn_norm.f32(), D, c.rms_eps, s.xb + t * D);
    ProjectMany({&L.wq, &L.wk, &L.wv}, s.xb, n, {s.q, s.k, s.v}, threads);
    if (c.qkv_bias) {
      for (size_t t = 0; t < n; ++t) {
        Add(L.bq.f32(), s.q + t * QD, QD);
        Add(L.bk.f32(), s.k + t * KVD, KVD);
        Add(L.bv.f32(), s.v + t * KVD, KVD);
      }
    }
    for (size_t t = 0; t < n; ++t) {
      const size_t pos = s.pos + t;
      if (c.rope_style == RopeStyle::kInterleaved) {
        RopeInterleaved(s.q + t * QD, c.n_heads, c.head_dim, c.rope_dim, pos, c.rope_freq_base);
        RopeInterleaved(s.k + t * KVD, c.n_kv_heads, c.head_dim, c.rope_dim, pos, c.rope_freq_base);
      } else {
        RopeHalfSplit(s.q + t * QD, c.n_heads, c.head_dim, c.rope_dim, pos, c.rope_freq_base);
        RopeHalfSplit(s.k + t * KVD, c.n_kv_heads, c.head_dim, c.rope_dim, pos, c.rope_freq_base);
      }
      s.cache.Store(l, pos, s.k + t * KVD, s.v + t * KVD);
    }
    FLOE_RETURN_IF_ERROR(Attend(s, l, n, s.q, s.att, &threads));
    Project(L.wo, s.att, n, s.xb, threads);
    Add(s.xb, s.x, n * D);
    // Feed-forward block (SwiGLU).
    for (size_t t = 0; t < n; ++t) RmsNorm(s.x + t * D, L.ffn_norm.f32(), D, c.rms_eps, s.xb + t * D);
    ProjectMany({&L.ffn_gate, &L.ffn_up}, s.xb, n, {s.gate, s.up}, threads);
    SwiGlu(s.gate, s.up, n * F);
    Project(L.ffn_down, s.gate, n, s.xb, threads);
    Add(s.xb, s.x, n * D);
  }
  s.pos += n;

  if (mode == LogitsMode::kNone) return Status::Ok();
  const size_t first = mode == LogitsMode::kLast ? n - 1 : 0;
  const size_t rows = n - first;
  for (size_t t = first; t < n; ++t)
    RmsNorm(s.x + t * D, weights_.output_norm.f32(), D, c.rms_eps, s.xb + (t - first) * D);
  Project(weights_.output, s.xb, rows, logits, threads);
  return Status::Ok();
}

}  // namespace floe

namespace floe {

Status LlamaModel::ForwardEach(std::span<SequenceState* const> base, std::span<const int32_t> tokens,
                               float* logits, ThreadContext& threads,
                               const std::atomic<bool>* cancel) const {
  const LlamaConfig& c = config_;
  const size_t B = base.size();
  if (B != tokens.size())
    return InvalidArgument("ForwardEach: " + std::to_string(B) + " states but " + std::to_string(tokens.size()) + " tokens");
  if (logits == nullptr) return InvalidArgument("ForwardEach: logits buffer is null");
  std::vector<State*> states(B);
  for (size_t i = 0; i < B; ++i) {
    states[i] = dynamic_cast<State*>(base[i]);
    if (states[i] == nullptr) return InvalidArgument("ForwardEach: state " + std::to_string(i) + " does not belong to a llama model");
    for (size_t j = 0; j < i; ++j)
      if (states[j] == states[i]) return InvalidArgument("ForwardEach: state " + std::to_string(i) + " appears twice");
    if (states[i]->pos >= states[i]->capacity())
      return OutOfRange("ForwardEach: sequence " + std::to_string(i) + " is full (" + std::to_string(states[i]->pos) + " tokens)");
    if (tokens[i] < 0 || size_t(tokens[i]) >= c.vocab_size)
      return OutOfRange("token id " + std::to_string(tokens[i]) + " outside the vocabulary [0, " + std::to_string(c.vocab_size) + ")");
  }
  if (B == 0) return Status::Ok();
  const size_t D = c.dim, QD = c.q_dim(), KVD = c.kv_dim(), F = c.ffn_dim;
  // Scratch for B rows from the thread context (grows only; no allocation once warm).
  const size_t per_row = 2 * D + 2 * QD + 2 * KVD + 2 * F;
  float* p = threads.Scratch(ScratchSlot::kBatchRows, B * per_row);
  if (p == nullptr) return OutOfMemory("ForwardEach: no memory for " + std::to_string(B) + " rows of scratch");
  auto take = [&](size_t n) { float* r = p; p += B * n; return r; };
  float *x = take(D), *xb = take(D), *q = take(QD), *att = take(QD), *k = take(KVD), *v = take(KVD),
        *gate = take(F), *up = take(F);
  for (size_t i = 0; i < B; ++i) ToF32(weights_.token_embd, size_t(tokens[i]) * D, D, x + i * D);
  std::vector<Status> st(B);  // per-sequence attention results of a layer

  for (size_t l = 0; l < c.n_layers; ++l) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return Cancelled("evaluation cancelled");
    const LlamaLayerWeights& L = weights_.layers[l];
    for (size_t i = 0; i < B; ++i) RmsNorm(x + i * D, L.attn_norm.f32(), D, c.rms_eps, xb + i * D);
    ProjectMany({&L.wq, &L.wk, &L.wv}, xb, B, {q, k, v}, threads);
    for (size_t i = 0; i < B; ++i) {
      State& s = *states[i];
      float *qi = q + i * QD, *ki = k + i * KVD, *vi = v + i * KVD;
      if (c.qkv_bias) {
        Add(L.bq.f32(), qi, QD);
        Add(L.bk.f32(), ki, KVD);
        Add(L.bv.f32(), vi, KVD);
      }
      if (c.rope_style == RopeStyle::kInterleaved) {
        RopeInterleaved(qi, c.n_heads, c.head_dim, c.rope_dim, s.pos, c.rope_freq_base);
        RopeInterleaved(ki, c.n_kv_heads, c.head_dim, c.rope_dim, s.pos, c.rope_freq_base);
      } else {
        RopeHalfSplit(qi, c.n_heads, c.head_dim, c.rope_dim, s.pos, c.rope_freq_base);
        RopeHalfSplit(ki, c.n_kv_heads, c.head_dim, c.rope_dim, s.pos, c.rope_freq_base);
      }
      s.cache.Store(l, s.pos, ki, vi);
    }
    // Attention per sequence over its own cache (dense or ice, as each state was set up):
    // sequences side by side when there are enough to fill the threads, else one after the other
    // with their heads in parallel.
    std::fill(st.begin(), st.end(), Status::Ok());
    if (B >= size_t(threads.num_threads())) {
      threads.ParallelFor(B, 1, [&](size_t i0, size_t i1) {
        for (size_t i = i0; i < i1; ++i) st[i] = Attend(*states[i], l, 1, q + i * QD, att + i * QD, nullptr);
      });
    } else {
      for (size_t i = 0; i < B; ++i) st[i] = Attend(*states[i], l, 1, q + i * QD, att + i * QD, &threads);
    }
    for (const Status& e : st) FLOE_RETURN_IF_ERROR(e);
    Project(L.wo, att, B, xb, threads);
    Add(xb, x, B * D);
    for (size_t i = 0; i < B; ++i) RmsNorm(x + i * D, L.ffn_norm.f32(), D, c.rms_eps, xb + i * D);
    ProjectMany({&L.ffn_gate, &L.ffn_up}, xb, B, {gate, up}, threads);
    SwiGlu(gate, up, B * F);
    Project(L.ffn_down, gate, B, xb, threads);
    Add(xb, x, B * D);
  }
  for (State* s : states) ++s->pos;
  for (size_t i = 0; i < B; ++i) RmsNorm(x + i * D, weights_.output_norm.f32(), D, c.rms_eps, xb + i * D);
  Project(weights_.output, xb, B, logits, threads);
  return Status::Ok();
}

}  // namespace floe
