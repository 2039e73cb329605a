#include "models/recurformer/recurformer_model.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "attention/dense/dense_attention.h"
#include "attention/dense/kv_cache.h"
#include "attention/planned/planned_attention.h"
#include "models/mamba/mamba_mixer.h"
#include "platform/base/aligned_buffer.h"
#include "platform/base/state_io.h"
#include "platform/kernels/ops.h"

namespace floe {

namespace {

// "layer 0: 1; layer 2: 0, 3": the file's replaced KV heads.
std::string RecurrentHeadList(const RecurformerConfig& c) {
  std::string s;
  for (size_t l = 0; l < c.recurrent.size(); ++l) {
    if (c.recurrent[l].empty()) continue;
    s += (s.empty() ? "layer " : "; layer ") + std::to_string(l) + ":";
    for (size_t i = 0; i < c.recurrent[l].size(); ++i)
      s += (i ? ", " : " ") + std::to_string(c.recurrent[l][i]);
  }
  return s.empty() ? "none" : s;
}

// A plan's recurrent heads must be exactly the heads the file replaces by Mamba blocks.
Status CheckPlanMatchesFile(const ResolvedHeadPlan& plan, const RecurformerConfig& c) {
  for (size_t l = 0; l < plan.n_layers; ++l)
    for (size_t g = 0; g < plan.n_kv_heads; ++g) {
      const bool planned = plan.at(l, g).mode == HeadMode::kRecurrent;
      const bool file = c.is_recurrent(l, g);
      const std::string who = "head plan, layer " + std::to_string(l) + " head " + std::to_string(g);
      if (planned && !file)
        return InvalidArgument(who + ": mode 'recurrent', but this head is an attention head in "
                               "the file (its recurrent heads: " + RecurrentHeadList(c) +
                               "): use dense, knn or window");
      if (!planned && file)
        return InvalidArgument(who + ": the file replaces this head by a Mamba block, so the "
                               "plan must name it {\"layer\": " + std::to_string(l) +
                               ", \"head\": " + std::to_string(g) +
                               ", \"mode\": \"recurrent\"}, not mode '" +
                               HeadModeName(plan.at(l, g).mode) +
                               "' (the file's recurrent heads: " + RecurrentHeadList(c) + ")");
    }
  return Status::Ok();
}

}  // namespace

// Per layer: a KV cache of the kept KV heads (none when every head is replaced) and, where the
// layer has a mixer, its state (double-buffered); the activations of one chunk. Under a head
// plan, the kept heads' keys and values live in `planned` instead (each head as its mode needs;
// the replaced heads are the plan's `recurrent` heads and store nothing) and `caches` is unused.
class RecurformerModel::State final : public SequenceState {
 public:
  size_t position() const override { return pos; }
  size_t capacity() const override { return cap; }
  size_t memory_bytes() const override {
    return FixedBytes() + CacheBytes() +
           (planned ? planned->bytes() + planned->scratch_bytes() : 0);
  }
  size_t memory_bytes_at(size_t positions) const override {
    const size_t n = std::min(positions, cap);
    size_t bytes = FixedBytes();
    if (planned) return bytes + planned->bytes_at(pos, n) + planned->scratch_bytes();
    for (const KvCache& k : caches)
      if (k.n_kv_heads() > 0) bytes += 2 * k.prefix_bytes(n);
    return bytes;
  }
  void Reset() override {
    pos = 0;
    std::fill(ssm[cur].data(), ssm[cur].data() + ssm[cur].size(), 0.0f);
    if (planned) planned->Clear();
  }
  std::vector<uint64_t> Shape() const {
    const LlamaConfig& l = c->llama;
    return {l.n_layers, l.n_kv_heads, l.head_dim, uint64_t(options.kv_dtype), ssm[0].size()};
  }
  // Under a plan, another header ("recurformer+head-plan": the plan's storage layout and the
  // mixers' state size), the position, the mixers' state, then each head's part as the plan
  // keeps it (PlannedAttention::Save). A planned state restores into a session with another plan
  // that needs no more of each head; plain and planned states do not restore into each other
  // (the plain caches hold only the file's attention heads, in another layout).
  std::vector<uint64_t> PlannedShape() const {
    std::vector<uint64_t> shape = planned->Shape();
    shape.push_back(ssm[0].size());
    return shape;
  }
  Status Save(std::vector<uint8_t>* out) const override {
    if (planned) {
      StateWriter w(out, "recurformer+head-plan", PlannedShape());
      w.PutU64(pos);
      w.PutRaw(ssm[cur].data(), ssm[cur].size() * sizeof(float));
      planned->Save(pos, w);
      return Status::Ok();
    }
    const auto shape = Shape();
    StateWriter w(out, "recurformer", shape);
    w.PutU64(pos);
    for (const KvCache& k : caches)
      if (k.n_kv_heads() > 0) k.SavePrefix(pos, w);
    w.PutRaw(ssm[cur].data(), ssm[cur].size() * sizeof(float));
    return Status::Ok();
  }
  Status Restore(std::span<const uint8_t> bytes) override {
    StateReader r(bytes);
    if (planned) {
      // Saved under this plan, or under another plan of the same file (the heads it keeps
      // must cover what this plan's heads need: PlannedAttention::RestoreFromPlan).
      std::vector<uint64_t> shape;
      FLOE_RETURN_IF_ERROR(r.ReadHeaderShape("recurformer+head-plan", &shape));
      if (shape.empty() || shape.back() != ssm[0].size())
        return InvalidArgument("session state was saved with a different model configuration");
      shape.pop_back();
      FLOE_ASSIGN_OR_RETURN(const SavedHeadLayout saved, ParseSavedHeadLayout(shape));
      uint64_t n = 0;
      FLOE_RETURN_IF_ERROR(r.TakeU64(&n, cap, "position"));
      const size_t ssm_bytes = ssm[cur].size() * sizeof(float);
      if (r.remaining() < ssm_bytes)
        return InvalidArgument("RecurFormer state: truncated recurrent state");
      // Into the buffer not in use; it becomes current only when the heads restored too.
      FLOE_RETURN_IF_ERROR(r.TakeRaw(ssm[cur ^ 1].data(), ssm_bytes, "recurrent state"));
      FLOE_RETURN_IF_ERROR(planned->RestoreFromPlan(saved, n, r));
      cur ^= 1;
      pos = n;
      return Status::Ok();
    }
    FLOE_RETURN_IF_ERROR(r.ReadHeader("recurformer", Shape()));
    uint64_t n = 0;
    FLOE_RETURN_IF_ERROR(r.TakeU64(&n, cap, "position"));
    const size_t ssm_bytes = ssm[cur].size() * sizeof(float);
    size_t expected = ssm_bytes;
    for (const KvCache& k : caches)
      if (k.n_kv_heads() > 0) expected += 2 * k.prefix_bytes(n);
    // Checked before anything is written, so a bad state changes nothing.
    if (r.remaining() != expected)
      return InvalidArgument("RecurFormer state has " + std::to_string(r.remaining()) +
                             " bytes after its header, its position needs " +
                             std::to_string(expected));
    for (KvCache& k : caches)
      if (k.n_kv_heads() > 0) FLOE_RETURN_IF_ERROR(k.RestorePrefix(n, r));
    FLOE_RETURN_IF_ERROR(r.TakeRaw(ssm[cur ^ 1].data(), ssm_bytes, "recurrent state"));
    FLOE_RETURN_IF_ERROR(r.Finish());
    cur ^= 1;
    pos = n;
    return Status::Ok();
  }
  Result<std::unique_ptr<SequenceState>> Clone() const override {
    auto copy = std::make_unique<State>();
    FLOE_RETURN_IF_ERROR(copy->Init(*c, options));
    if (planned) FLOE_RETURN_IF_ERROR(copy->planned->CopyFrom(*planned, pos));
    for (size_t l = 0; l < caches.size(); ++l)
      if (caches[l].n_kv_heads() > 0)
        FLOE_RETURN_IF_ERROR(copy->caches[l].CopyPrefixFrom(caches[l], pos));
    std::memcpy(copy->ssm[copy->cur].data(), ssm[cur].data(), ssm[cur].size() * sizeof(float));
    copy->pos = pos;
    return std::unique_ptr<SequenceState>(std::move(copy));
  }

  Status Init(const RecurformerConfig& config, const StateOptions& o) {
    c = &config;
    options = o;
    const LlamaConfig& lc = config.llama;
    cap = o.context_length ? o.context_length : lc.usable_context();
    batch = std::max<size_t>(1, o.max_batch);
    if (batch > (size_t(1) << 20))
      return InvalidArgument("max_batch " + std::to_string(batch) + " is implausibly large");
    caches = std::vector<KvCache>(lc.n_layers);
    ssm_offset.assign(lc.n_layers, 0);
    size_t ssm_floats = 0;
    const MambaConfig& m = config.ssm;
    shape = MambaMixerShape{m.d_model, m.d_inner, m.d_state, m.d_conv, m.dt_rank, 0};
    if (o.head_plan) {
      FLOE_RETURN_IF_ERROR(o.attention.Validate(cap));
      FLOE_ASSIGN_OR_RETURN(const ResolvedHeadPlan plan,
                            o.head_plan->Resolve(lc.n_layers, lc.n_kv_heads, cap,
                                                 /*allow_recurrent=*/true));
      FLOE_RETURN_IF_ERROR(CheckPlanMatchesFile(plan, config));
      planned = std::make_unique<PlannedAttention>();
      FLOE_RETURN_IF_ERROR(planned->Init(plan, lc.n_heads, lc.head_dim, cap, batch, o.kv_dtype,
                                         o.attention));
      planned->set_probe(o.attention_probe);
    }
    for (size_t l = 0; l < lc.n_layers; ++l) {
      if (config.kept_kv_heads(l) > 0 && !planned)
        FLOE_RETURN_IF_ERROR(
            caches[l].Init(1, config.kept_kv_heads(l), lc.head_dim, cap, o.kv_dtype));
      if (config.has_mixer(l)) {
        ssm_offset[l] = ssm_floats;
        ssm_floats += shape.state_floats();
      }
    }
    for (auto& b : ssm) {
      FLOE_RETURN_IF_ERROR(b.Resize(ssm_floats));
      std::fill(b.data(), b.data() + b.size(), 0.0f);
    }
    if (ssm_floats > 0) FLOE_RETURN_IF_ERROR(mixer.Init(shape, batch));
    const size_t D = lc.dim, QD = lc.q_dim(), KVD = lc.kv_dim();
    FLOE_RETURN_IF_ERROR(scratch.Resize(batch * (2 * D + 5 * QD + 4 * KVD + 2 * lc.ffn_dim)));
    float* p = scratch.data();
    auto take = [&](size_t width) {
      float* r = p;
      p += batch * width;
      return r;
    };
    x = take(D);
    xb = take(D);
    q = take(QD);
    att = take(QD);
    qc = take(QD);
    ac = take(QD);
    mo = take(QD);
    k = take(KVD);
    v = take(KVD);
    kc = take(KVD);
    vc = take(KVD);
    gate = take(lc.ffn_dim);
    up = take(lc.ffn_dim);
    return Status::Ok();
  }

  const float* In(size_t l) const { return ssm[cur].data() + ssm_offset[l]; }
  float* Out(size_t l) { return ssm[cur ^ 1].data() + ssm_offset[l]; }

  const RecurformerConfig* c = nullptr;
  StateOptions options;
  size_t cap = 0, batch = 1, pos = 0;
  std::vector<KvCache> caches;     // per layer, the kept KV heads (0 heads: none kept)
  std::unique_ptr<PlannedAttention> planned;  // a head plan: the heads' storage (caches unused)
  std::vector<size_t> ssm_offset;  // per layer with a mixer: where its state starts
  AlignedBuffer<float> ssm[2];
  int cur = 0;
  MambaMixerShape shape;
  MambaMixerScratch mixer;
  AlignedBuffer<float> scratch;
  // batch rows each: the residual x, the block input xb, q / k / v (every head), att (every
  // query head's slot), the kept heads' q, k, v and attention compacted (qc, kc, vc, ac), the
  // mixer's output mo, the FFN's gate and up.
  float *x = nullptr, *xb = nullptr, *q = nullptr, *att = nullptr, *qc = nullptr, *ac = nullptr,
        *mo = nullptr, *k = nullptr, *v = nullptr, *kc = nullptr, *vc = nullptr, *gate = nullptr,
        *up = nullptr;

 private:
  size_t FixedBytes() const {
    return (ssm[0].size() + ssm[1].size() + scratch.size()) * sizeof(float) + mixer.bytes();
  }
  size_t CacheBytes() const {
    size_t b = 0;
    for (const KvCache& k : caches) b += k.bytes();
    return b;
  }
};

Result<std::unique_ptr<RecurformerModel>> RecurformerModel::Create(RecurformerNetwork network) {
  FLOE_RETURN_IF_ERROR(network.config.Validate());
  FLOE_RETURN_IF_ERROR(ValidateLlamaWeights(network.config.llama, network.weights.llama));
  if (network.weights.mamba.layers.size() != network.config.llama.n_layers)
    return InvalidArgument(
        "RecurFormer mixer weights cover " + std::to_string(network.weights.mamba.layers.size()) +
        " layers, the model has " + std::to_string(network.config.llama.n_layers));
  return std::unique_ptr<RecurformerModel>(new RecurformerModel(std::move(network)));
}

Result<std::unique_ptr<SequenceState>> RecurformerModel::NewState(
    const StateOptions& options) const {
  if (options.context_length > context_length())
    return InvalidArgument("context length " + std::to_string(options.context_length) +
                           " exceeds the model's trained context " +
                           std::to_string(context_length()));
  if (options.attention.backend != AttentionBackend::kDense && !options.head_plan)
    return InvalidArgument(
        "RecurFormer runs its kept heads with dense attention unless a head plan gives them "
        "other modes: choose the dense backend, or pass a plan (--head-plan) with knn heads");
  auto s = std::make_unique<State>();
  FLOE_RETURN_IF_ERROR(s->Init(net_.config, options));
  return std::unique_ptr<SequenceState>(std::move(s));
}

Status RecurformerModel::Forward(SequenceState& base, std::span<const int32_t> tokens,
                                 LogitsMode mode, float* logits, ThreadContext& threads,
                                 const std::atomic<bool>* cancel) const {
  State* s = dynamic_cast<State*>(&base);
  if (s == nullptr) return InvalidArgument("sequence state does not belong to a RecurFormer model");
  return ForwardInChunks(tokens, mode, logits, vocab_size(), s->pos, s->cap, s->batch,
                         [&](const int32_t* t, size_t n, LogitsMode m, float* out) {
                           return ForwardChunk(*s, t, n, m, out, threads, cancel);
                         });
}

Status RecurformerModel::ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode,
                                      float* logits, ThreadContext& threads,
                                      const std::atomic<bool>* cancel) const {
  const LlamaConfig& c = net_.config.llama;
  const LlamaWeights& w = net_.weights.llama;
  const size_t D = c.dim;
  for (size_t t = 0; t < n; ++t) ToF32(w.token_embd, size_t(tokens[t]) * D, D, s.x + t * D);
  for (size_t l = 0; l < c.n_layers; ++l) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return Cancelled("evaluation cancelled");
    FLOE_RETURN_IF_ERROR(Heads(s, l, n, threads));
    MatMulTokens(w.layers[l].wo, s.att, n, s.xb, threads);
    Add(s.xb, s.x, n * D);
    FeedForward(s, l, n, threads);
  }
  s.cur ^= 1;  // every mixer wrote its state for this chunk
  s.pos += n;
  if (mode == LogitsMode::kNone) return Status::Ok();
  const size_t first = mode == LogitsMode::kLast ? n - 1 : 0;
  for (size_t t = first; t < n; ++t)
    RmsNorm(s.x + t * D, w.output_norm.f32(), D, c.rms_eps, s.xb + (t - first) * D);
  MatMulTokens(w.output, s.xb, n - first, logits, threads);
  return Status::Ok();
}

Status RecurformerModel::Heads(State& s, size_t l, size_t n, ThreadContext& threads) const {
  const RecurformerConfig& rc = net_.config;
  const LlamaConfig& c = rc.llama;
  const LlamaLayerWeights& L = net_.weights.llama.layers[l];
  const size_t D = c.dim, QD = c.q_dim(), KVD = c.kv_dim(), hd = c.head_dim, G = rc.group();
  for (size_t t = 0; t < n; ++t)
    RmsNorm(s.x + t * D, L.attn_norm.f32(), D, c.rms_eps, s.xb + t * D);

  const size_t kept_kv = rc.kept_kv_heads(l), kept_q = kept_kv * G;
  // Every head's q, k, v for the n tokens, RoPE applied; then `store(t, q, k)` per token.
  auto project = [&](auto&& store) {
    const TensorView* ws[] = {&L.wq, &L.wk, &L.wv};
    float* ys[] = {s.q, s.k, s.v};
    MatMulMany(ws, s.xb, n, ys, &threads);
    for (size_t t = 0; t < n; ++t) {
      float *q = s.q + t * QD, *k = s.k + t * KVD;
      RopeInterleaved(q, c.n_heads, hd, c.rope_dim, s.pos + t, c.rope_freq_base);
      RopeInterleaved(k, c.n_kv_heads, hd, c.rope_dim, s.pos + t, c.rope_freq_base);
      store(t, q, k);
    }
  };
  if (s.planned) {
    // The plan stores and attends the kept heads by their modes and leaves zeros in the
    // recurrent heads' slots, which the mixer fills below.
    if (kept_kv > 0) {
      project([&](size_t t, const float*, const float* k) {
        s.planned->Store(l, s.pos + t, k, s.v + t * KVD);
      });
      FLOE_RETURN_IF_ERROR(s.planned->Attend(l, n, s.pos, s.q, s.att, &threads));
    }
    const size_t mixed = rc.mixer_out(l);
    if (mixed == 0) return Status::Ok();
    MambaMixerForward(net_.weights.mamba.layers[l], s.shape, s.xb, n, s.In(l), s.Out(l), s.mixer,
                      s.mo, threads);
    const size_t gw = G * hd;
    for (size_t t = 0; t < n; ++t) {
      size_t rec = 0;
      for (size_t g = 0; g < c.n_kv_heads; ++g)
        if (rc.is_recurrent(l, g))
          std::memcpy(s.att + t * QD + g * gw, s.mo + t * mixed + (rec++) * gw, gw * sizeof(float));
    }
    return Status::Ok();
  }
  if (kept_kv > 0) {
    project([&](size_t t, const float* q, const float* k) {
      // The kept heads, compacted in head order: KV head g's query heads g*G .. g*G + G - 1.
      size_t j = 0;
      for (size_t g = 0; g < c.n_kv_heads; ++g) {
        if (rc.is_recurrent(l, g)) continue;
        std::memcpy(s.kc + t * kept_kv * hd + j * hd, k + g * hd, hd * sizeof(float));
        std::memcpy(s.vc + t * kept_kv * hd + j * hd, s.v + t * KVD + g * hd, hd * sizeof(float));
        std::memcpy(s.qc + t * kept_q * hd + j * G * hd, q + g * G * hd, G * hd * sizeof(float));
        ++j;
      }
      s.caches[l].Store(0, s.pos + t, s.kc + t * kept_kv * hd, s.vc + t * kept_kv * hd);
    });
    DenseAttentionArgs a;
    a.cache = &s.caches[l];
    a.layer = 0;
    a.n_heads = kept_q;
    a.n_tokens = n;
    a.first_pos = s.pos;
    a.q = s.qc;
    a.out = s.ac;
    DenseAttention(a, &threads);
  }
  const size_t mixed = rc.mixer_out(l);
  if (mixed > 0)
    MambaMixerForward(net_.weights.mamba.layers[l], s.shape, s.xb, n, s.In(l), s.Out(l), s.mixer,
                      s.mo, threads);
  // Every query head's slot from its source: the kept heads' attention or the mixer's output.
  const size_t gw = G * hd;  // one KV head's query slots
  for (size_t t = 0; t < n; ++t) {
    size_t kept = 0, rec = 0;
    for (size_t g = 0; g < c.n_kv_heads; ++g) {
      const float* src = rc.is_recurrent(l, g) ? s.mo + t * mixed + (rec++) * gw
                                               : s.ac + t * kept_q * hd + (kept++) * gw;
      std::memcpy(s.att + t * QD + g * gw, src, gw * sizeof(float));
    }
  }
  return Status::Ok();
}

void RecurformerModel::FeedForward(State& s, size_t l, size_t n, ThreadContext& threads) const {
  const LlamaConfig& c = net_.config.llama;
  const LlamaLayerWeights& L = net_.weights.llama.layers[l];
  const size_t D = c.dim;
  for (size_t t = 0; t < n; ++t) RmsNorm(s.x + t * D, L.ffn_norm.f32(), D, c.rms_eps, s.xb + t * D);
  const TensorView* ws[] = {&L.ffn_gate, &L.ffn_up};
  float* ys[] = {s.gate, s.up};
  MatMulMany(ws, s.xb, n, ys, &threads);
  SwiGlu(s.gate, s.up, n * c.ffn_dim);
  MatMulTokens(L.ffn_down, s.gate, n, s.xb, threads);
  Add(s.xb, s.x, n * D);
}

}  // namespace floe
