#include "models/llama/llama_model.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <span>
#include <vector>

#include "attention/dense/dense_attention.h"
#include "attention/knn/ice_attention.h"
#include "attention/knn/knn_index_set.h"
#include "attention/planned/planned_attention.h"
#include "platform/kernels/ops.h"

namespace floe {

// Rows [row, row + n) of a batch: the tokens at positions state->pos, ..., state->pos + n - 1
// of one sequence.
struct LlamaModel::SeqRows {
  State* state = nullptr;
  size_t row = 0, n = 0;
  Status attended;  // what its attention in the current layer returned
};

// The rows of a batch on their way through the layers: the sequences they belong to (in row
// order, covering rows [0, n)) and their activations, n rows each of x (the residual stream),
// xb (a block's normed input, then its output), q, att (attention output), k, v, gate and up,
// carved from n * FloatsPerRow floats of scratch.
struct LlamaModel::Batch {
  Batch(const LlamaConfig& c, std::span<SeqRows> seqs, size_t n, float* scratch);
  static size_t FloatsPerRow(const LlamaConfig& c);

  std::span<SeqRows> seqs;
  size_t n = 0;
  float *x = nullptr, *xb = nullptr, *q = nullptr, *att = nullptr, *k = nullptr, *v = nullptr,
        *gate = nullptr, *up = nullptr;
};

// KV cache + activation scratch for one sequence; sized once, nothing allocated per token
// (dense). With ice attention, also the kNN index, which grows with the sequence.
class LlamaModel::State final : public SequenceState {
 public:
  size_t position() const override { return pos; }
  size_t capacity() const override { return planned ? planned->capacity() : cache.capacity(); }
  size_t memory_bytes() const override {
    return cache.bytes() + scratch.size() * sizeof(float) +
           (ice ? index.bytes() + shared.bytes() : 0) +
           (planned ? planned->bytes() + planned->scratch_bytes() : 0);
  }
  size_t cache_bytes() const override {
    return cache.bytes() + (ice ? index.bytes() + shared.bytes() : 0) +
           (planned ? planned->bytes() : 0);
  }
  size_t memory_bytes_at(size_t positions) const override {
    if (planned)  // each head's rows as its mode keeps them (window heads: at most a ring)
      return planned->bytes_at(pos, std::min(positions, planned->capacity())) +
             planned->scratch_bytes() + scratch.size() * sizeof(float);
    const size_t n = std::min(positions, cache.capacity());
    size_t bytes = 2 * cache.n_layers() * cache.prefix_bytes(n) + scratch.size() * sizeof(float);
    // The index holds a copy of each indexed key (and its projections): estimated from the
    // bytes per key it holds now, or one f32 key per position before it holds any.
    if (ice) {
      const size_t keys = cache.n_layers() * cache.n_kv_heads();
      const size_t per_key = pos > 0 && index.bytes() > 0
                                 ? (index.bytes() + shared.bytes()) / (pos * keys) + 1
                                 : cache.head_dim() * sizeof(float);
      bytes += index.bytes() + shared.bytes() + (n > pos ? (n - pos) * keys * per_key : 0);
    }
    return bytes;
  }
  void Reset() override {
    pos = 0;
    index.Clear();
    shared.Clear();
    if (planned) planned->Clear();
  }
  // Key and value of (layer, pos) into the cache, or each head's part as its plan needs.
  void StoreKv(size_t layer, size_t p, const float* k, const float* v) {
    if (planned)
      planned->Store(layer, p, k, v);
    else
      cache.Store(layer, p, k, v);
  }

  // Header fingerprint: everything the saved bytes' layout depends on. Capacity is not part of
  // it: a state restores into any state of the same model whose capacity holds its position.
  // The kNN index is not saved: Restore rebuilds it from the restored keys, which gives the
  // very index the original sequence had (KnnIndex: DCI and FAISS indexes depend only on the
  // keys and their order), at a cost of O(n m L log n) per (layer, kv head) instead of state bytes.
  // So a state saved with any backend restores into a session with any backend, and into a
  // session with a head plan (which keeps of it what each head needs). A state saved under a
  // plan restores into a session with another plan or none when each head of the saved plan
  // kept what the new one needs (RestoreFromPlan, RestorePlanned): a window head that has
  // dropped keys cannot become a dense one. An ice state ends
  // with the candidates its heads share in their current blocks (ice::SharedCandidates), so a
  // restored sequence ranks what the uninterrupted one would; other backends skip that section.
  std::vector<uint64_t> Shape() const {
    return {config.n_layers, config.n_kv_heads, config.head_dim, uint64_t(options.kv_dtype)};
  }
  Status Save(std::vector<uint8_t>* out) const override {
    if (planned) {  // another layout, another header: no mix-up with plain llama states
      StateWriter w(out, "llama+head-plan", planned->Shape());
      w.PutU64(pos);
      planned->Save(pos, w);
      return Status::Ok();
    }
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
    const bool plain_state = StateReader(bytes).ReadHeader("llama", Shape()).ok();
    if (planned) {
      // A state saved under this plan, under another plan, or without a plan (converted).
      if (plain_state) {
        FLOE_RETURN_IF_ERROR(r.ReadHeader("llama", Shape()));
        uint64_t n = 0;
        FLOE_RETURN_IF_ERROR(r.TakeU64(&n, planned->capacity(), "position"));
        FLOE_RETURN_IF_ERROR(planned->RestoreFromDense(n, r));
        pos = n;
        return Status::Ok();
      }
      std::vector<uint64_t> shape;
      FLOE_RETURN_IF_ERROR(r.ReadHeaderShape("llama+head-plan", &shape));
      FLOE_ASSIGN_OR_RETURN(const SavedHeadLayout saved, ParseSavedHeadLayout(shape));
      uint64_t n = 0;
      FLOE_RETURN_IF_ERROR(r.TakeU64(&n, planned->capacity(), "position"));
      FLOE_RETURN_IF_ERROR(planned->RestoreFromPlan(saved, n, r));
      pos = n;
      return Status::Ok();
    }
    std::vector<uint64_t> planned_shape;
    if (!plain_state && StateReader(bytes).ReadHeaderShape("llama+head-plan", &planned_shape).ok())
      return RestorePlanned(bytes);
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
  // A state saved under a head plan, into this plain cache: every head must have kept every
  // position (dense and knn heads; window heads only while the sequence fits their window).
  // Checked in full before the cache is written.
  Status RestorePlanned(std::span<const uint8_t> bytes) {
    StateReader r(bytes);
    std::vector<uint64_t> shape;
    FLOE_RETURN_IF_ERROR(r.ReadHeaderShape("llama+head-plan", &shape));
    FLOE_ASSIGN_OR_RETURN(const SavedHeadLayout saved, ParseSavedHeadLayout(shape));
    FLOE_RETURN_IF_ERROR(
        saved.CheckShape(config.n_layers, config.n_kv_heads, config.head_dim, options.kv_dtype));
    uint64_t n = 0;
    FLOE_RETURN_IF_ERROR(r.TakeU64(&n, cache.capacity(), "position"));
    // A plain cache is a dense head everywhere.
    FLOE_RETURN_IF_ERROR(saved.CheckCovers(std::vector<HeadSpec>(saved.specs.size()), n));
    StateReader check = r;  // every byte checked before the cache is touched
    FLOE_RETURN_IF_ERROR(ReadSavedHeads(saved, n, check, nullptr));
    FLOE_RETURN_IF_ERROR(ReadSavedHeads(saved, n, r,
                                        [&](size_t layer, size_t g, size_t first, size_t count,
                                            const uint8_t* k, const uint8_t* v) -> Status {
                                          const size_t rb = cache.row_bytes();
                                          for (size_t p = first; p < first + count; ++p)
                                            cache.StoreRows(layer, p, g, k + (p - first) * rb,
                                                            v + (p - first) * rb);
                                          return Status::Ok();
                                        }));
    pos = n;
    if (ice) {
      shared.Clear();  // the saved candidates belong to the plan's per-head layout
      if (Status st = index.Rebuild(cache, n, nullptr); !st.ok()) {
        Reset();
        return st;
      }
    }
    return Status::Ok();
  }
  Result<std::unique_ptr<SequenceState>> Clone() const override {
    auto c = std::make_unique<State>();
    FLOE_RETURN_IF_ERROR(c->Init(config, options));
    if (planned) {
      FLOE_RETURN_IF_ERROR(c->planned->CopyFrom(*planned, pos));
      c->pos = pos;
      return std::unique_ptr<SequenceState>(std::move(c));
    }
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
    const size_t ctx = o.context_length ? o.context_length : c.usable_context();
    FLOE_RETURN_IF_ERROR(o.attention.Validate(ctx));
    if (o.head_plan) {
      if (o.kv_dtype != DType::kF32 && o.kv_dtype != DType::kF16)
        return InvalidArgument("KV cache type must be f32 or f16");
      FLOE_ASSIGN_OR_RETURN(const ResolvedHeadPlan plan,
                            o.head_plan->Resolve(c.n_layers, c.n_kv_heads, ctx,
                                                 /*allow_recurrent=*/false));
      planned = std::make_unique<PlannedAttention>();
      FLOE_RETURN_IF_ERROR(
          planned->Init(plan, c.n_heads, c.head_dim, ctx, batch, o.kv_dtype, o.attention));
      planned->set_probe(o.attention_probe);
      return scratch.Resize(batch * Batch::FloatsPerRow(c));
    }
    FLOE_RETURN_IF_ERROR(cache.Init(c.n_layers, c.n_kv_heads, c.head_dim, ctx, o.kv_dtype));
    ice = o.attention.backend == AttentionBackend::kIce ||
          o.attention.backend == AttentionBackend::kFaiss;
    if (ice) {
      // The empty indexes may take what the cache they index does (at least 64 MiB).
      FLOE_RETURN_IF_ERROR(index.Init(c.n_layers, c.n_kv_heads, c.head_dim, o.attention,
                                      std::max(cache.bytes(), kKnnIndexFloorBytes)));
      shared.Init(c.n_layers, c.n_kv_heads, o.attention.search_block);
    }
    FLOE_RETURN_IF_ERROR(scratch.Resize(batch * Batch::FloatsPerRow(c)));
    return Status::Ok();
  }

  LlamaConfig config;
  StateOptions options;
  KvCache cache;
  bool ice = false;            // options.attention.backend is kIce or kFaiss (kNN attention)
  KnnIndexSet index;           // kNN only: keys [sinks, IndexLimit(pos)) of every (layer, kv head)
  IceScratchPool ice_scratch;  // ice only: per-thread search memory, reused across steps
  ice::SharedCandidates shared;  // ice only: candidates of each head's current block
  std::unique_ptr<PlannedAttention> planned;  // a head plan: per-head storage (cache unused)
  AlignedBuffer<float> scratch;  // the activations of `batch` rows (Batch)
  size_t pos = 0;
  size_t batch = 1;
};

LlamaModel::LlamaModel(const LlamaConfig& c, LlamaWeights w) : config_(c), weights_(std::move(w)) {
  const RopeScaling scaling = c.rope_scaling();
  rope_scaled_ = !scaling.identity();
  if (rope_scaled_) rope_ = RopeFrequencies(c.rope_dim, c.rope_freq_base, scaling);
}

Result<std::unique_ptr<LlamaModel>> LlamaModel::Create(const LlamaConfig& config,
                                                       LlamaWeights weights) {
  FLOE_RETURN_IF_ERROR(config.Validate());
  FLOE_RETURN_IF_ERROR(ValidateLlamaWeights(config, weights));
  return std::unique_ptr<LlamaModel>(new LlamaModel(config, std::move(weights)));
}

CausalLm::MovableWeights LlamaModel::Movable() {
  MovableWeights out;
  for (LlamaLayerWeights& L : weights_.layers) {
    for (TensorView* v : {&L.wq, &L.wk, &L.wv, &L.wo, &L.ffn_gate, &L.ffn_up, &L.ffn_down})
      out.products.push_back(v);
    for (TensorView* v : {&L.attn_norm, &L.ffn_norm, &L.bq, &L.bk, &L.bv})
      if (v->data != nullptr) out.others.push_back(v);
  }
  if (weights_.output.data != weights_.token_embd.data) out.products.push_back(&weights_.output);
  out.others.push_back(&weights_.output_norm);
  return out;
}

Result<std::unique_ptr<SequenceState>> LlamaModel::NewState(const StateOptions& options) const {
  if (options.context_length > context_length())
    return InvalidArgument("context length " + std::to_string(options.context_length) +
                           " exceeds the model's trained context " +
                           std::to_string(context_length()));
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
  if (s.planned) return s.planned->Attend(layer, n, s.pos, q, out, threads);
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
// Several projections of the same rows (q/k/v, gate/up) in one pass over the threads.
void ProjectMany(std::initializer_list<const TensorView*> ws, const float* x, size_t n,
                 std::initializer_list<float*> ys, ThreadContext& threads) {
  MatMulMany({ws.begin(), ws.size()}, x, n, {ys.begin(), ys.size()}, &threads);
}

}  // namespace

size_t LlamaModel::Batch::FloatsPerRow(const LlamaConfig& c) {
  return 2 * c.dim + 2 * c.q_dim() + 2 * c.kv_dim() + 2 * c.ffn_dim;
}

LlamaModel::Batch::Batch(const LlamaConfig& c, std::span<SeqRows> s, size_t rows, float* scratch)
    : seqs(s), n(rows) {
  float* p = scratch;
  auto take = [&](size_t width) {
    float* r = p;
    p += rows * width;
    return r;
  };
  x = take(c.dim);
  xb = take(c.dim);
  q = take(c.q_dim());
  att = take(c.q_dim());
  k = take(c.kv_dim());
  v = take(c.kv_dim());
  gate = take(c.ffn_dim);
  up = take(c.ffn_dim);
}

Status LlamaModel::ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode,
                                float* logits, ThreadContext& threads,
                                const std::atomic<bool>* cancel) const {
  SeqRows seq{&s, 0, n, Status::Ok()};
  const Batch b(config_, {&seq, 1}, n, s.scratch.data());
  const size_t first_logits = mode == LogitsMode::kNone ? n : mode == LogitsMode::kLast ? n - 1 : 0;
  return ForwardRows(tokens, b, first_logits, logits, threads, cancel);
}

Status LlamaModel::ForwardEach(std::span<SequenceState* const> base,
                               std::span<const int32_t> tokens, float* logits,
                               ThreadContext& threads, const std::atomic<bool>* cancel) const {
  const LlamaConfig& c = config_;
  const size_t B = base.size();
  if (B != tokens.size())
    return InvalidArgument("ForwardEach: " + std::to_string(B) + " states but " +
                           std::to_string(tokens.size()) + " tokens");
  if (logits == nullptr) return InvalidArgument("ForwardEach: logits buffer is null");
  std::vector<SeqRows> seqs(B);
  for (size_t i = 0; i < B; ++i) {
    State* s = dynamic_cast<State*>(base[i]);
    if (s == nullptr)
      return InvalidArgument("ForwardEach: state " + std::to_string(i) +
                             " does not belong to a llama model");
    for (size_t j = 0; j < i; ++j)
      if (seqs[j].state == s)
        return InvalidArgument("ForwardEach: state " + std::to_string(i) + " appears twice");
    if (s->pos >= s->capacity())
      return OutOfRange("ForwardEach: sequence " + std::to_string(i) + " is full (" +
                        std::to_string(s->pos) + " tokens)");
    if (tokens[i] < 0 || size_t(tokens[i]) >= c.vocab_size)
      return OutOfRange("token id " + std::to_string(tokens[i]) + " outside the vocabulary [0, " +
                        std::to_string(c.vocab_size) + ")");
    seqs[i] = SeqRows{s, i, 1, Status::Ok()};
  }
  if (B == 0) return Status::Ok();
  // Scratch for B rows from the thread context (grows only; no allocation once warm).
  float* scratch = threads.Scratch(ScratchSlot::kBatchRows, B * Batch::FloatsPerRow(c));
  if (scratch == nullptr)
    return OutOfMemory("ForwardEach: no memory for " + std::to_string(B) + " rows of scratch");
  return ForwardRows(tokens.data(), Batch(c, seqs, B, scratch), 0, logits, threads, cancel);
}

Status LlamaModel::ForwardRows(const int32_t* tokens, const Batch& b, size_t first_logits,
                               float* logits, ThreadContext& threads,
                               const std::atomic<bool>* cancel) const {
  const size_t D = config_.dim;
  for (size_t t = 0; t < b.n; ++t)
    ToF32(weights_.token_embd, size_t(tokens[t]) * D, D, b.x + t * D);
  for (size_t l = 0; l < config_.n_layers; ++l) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return Cancelled("evaluation cancelled");
    FLOE_RETURN_IF_ERROR(AttentionBlock(l, b, threads));
    FeedForwardBlock(l, b, threads);
  }
  for (const SeqRows& seq : b.seqs) seq.state->pos += seq.n;
  if (first_logits < b.n) OutputLogits(b, first_logits, logits, threads);
  return Status::Ok();
}

Status LlamaModel::AttentionBlock(size_t l, const Batch& b, ThreadContext& threads) const {
  const LlamaConfig& c = config_;
  const LlamaLayerWeights& L = weights_.layers[l];
  const size_t D = c.dim, QD = c.q_dim(), KVD = c.kv_dim();
  for (size_t t = 0; t < b.n; ++t)
    RmsNorm(b.x + t * D, L.attn_norm.f32(), D, c.rms_eps, b.xb + t * D);
  ProjectMany({&L.wq, &L.wk, &L.wv}, b.xb, b.n, {b.q, b.k, b.v}, threads);
  for (const SeqRows& seq : b.seqs) {
    for (size_t t = seq.row; t < seq.row + seq.n; ++t) {
      const size_t pos = seq.state->pos + (t - seq.row);
      float *q = b.q + t * QD, *k = b.k + t * KVD, *v = b.v + t * KVD;
      if (c.qkv_bias) {
        Add(L.bq.f32(), q, QD);
        Add(L.bk.f32(), k, KVD);
        Add(L.bv.f32(), v, KVD);
      }
      ApplyRope(q, k, pos);
      seq.state->StoreKv(l, pos, k, v);
    }
  }
  FLOE_RETURN_IF_ERROR(AttendEach(l, b, threads));
  MatMulTokens(L.wo, b.att, b.n, b.xb, threads);
  Add(b.xb, b.x, b.n * D);
  return Status::Ok();
}

void LlamaModel::ApplyRope(float* q, float* k, size_t pos) const {
  const LlamaConfig& c = config_;
  const bool inter = c.rope_style == RopeStyle::kInterleaved;
  if (!rope_scaled_) {
    (inter ? RopeInterleaved : RopeHalfSplit)(q, c.n_heads, c.head_dim, c.rope_dim, pos,
                                              c.rope_freq_base);
    (inter ? RopeInterleaved : RopeHalfSplit)(k, c.n_kv_heads, c.head_dim, c.rope_dim, pos,
                                              c.rope_freq_base);
    return;
  }
  // rope_dim <= head_dim <= 1024 (LlamaConfig::Validate): the tables fit on the stack.
  float cs[512], sn[512];
  rope_.CosSin(pos, cs, sn);
  (inter ? RopeInterleavedCosSin : RopeHalfSplitCosSin)(q, c.n_heads, c.head_dim, c.rope_dim, cs,
                                                        sn);
  (inter ? RopeInterleavedCosSin : RopeHalfSplitCosSin)(k, c.n_kv_heads, c.head_dim, c.rope_dim,
                                                        cs, sn);
}

Status LlamaModel::AttendEach(size_t l, const Batch& b, ThreadContext& threads) const {
  const size_t QD = config_.q_dim(), S = b.seqs.size();
  auto attend = [&](SeqRows& seq, ThreadContext* t) {
    seq.attended = Attend(*seq.state, l, seq.n, b.q + seq.row * QD, b.att + seq.row * QD, t);
  };
  // Every sequence attends, then the first error (in row order) is returned.
  if (S > 1 && S >= size_t(threads.num_threads())) {
    threads.ParallelFor(S, 1, [&](size_t i0, size_t i1) {
      for (size_t i = i0; i < i1; ++i) attend(b.seqs[i], nullptr);
    });
  } else {
    for (SeqRows& seq : b.seqs) attend(seq, &threads);
  }
  for (const SeqRows& seq : b.seqs) FLOE_RETURN_IF_ERROR(seq.attended);
  return Status::Ok();
}

void LlamaModel::FeedForwardBlock(size_t l, const Batch& b, ThreadContext& threads) const {
  const LlamaConfig& c = config_;
  const LlamaLayerWeights& L = weights_.layers[l];
  const size_t D = c.dim;
  for (size_t t = 0; t < b.n; ++t)
    RmsNorm(b.x + t * D, L.ffn_norm.f32(), D, c.rms_eps, b.xb + t * D);
  ProjectMany({&L.ffn_gate, &L.ffn_up}, b.xb, b.n, {b.gate, b.up}, threads);
  SwiGlu(b.gate, b.up, b.n * c.ffn_dim);
  MatMulTokens(L.ffn_down, b.gate, b.n, b.xb, threads);
  Add(b.xb, b.x, b.n * D);
}

void LlamaModel::OutputLogits(const Batch& b, size_t first, float* logits,
                              ThreadContext& threads) const {
  const size_t D = config_.dim;
  for (size_t t = first; t < b.n; ++t)
    RmsNorm(b.x + t * D, weights_.output_norm.f32(), D, config_.rms_eps, b.xb + (t - first) * D);
  MatMulTokens(weights_.output, b.xb, b.n - first, logits, threads);
}

}  // namespace floe
