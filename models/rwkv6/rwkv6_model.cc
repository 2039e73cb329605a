#include "models/rwkv6/rwkv6_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attention/linear/wkv6.h"
#include "models/rwkv6/rwkv6_blocks.h"
#include "platform/base/aligned_buffer.h"
#include "platform/kernels/ops.h"
#include "platform/base/state_io.h"

namespace floe {

namespace {

void LayerNorm(const float* x, const float* w, const float* b, size_t n, float eps, float* out) {
  RwkvLayerNorm(x, w, b, n, eps, out);
}

void Project(const TensorView& w, const float* x, size_t n, float* y, ThreadContext& threads) {
  RwkvProject(w, x, n, y, threads);
}

void Tanh(float* x, size_t n) { TanhInPlace(x, n); }

}  // namespace

// The recurrent state (double-buffered, see Forward) + the scratch of one chunk.
class Rwkv6Model::State final : public SequenceState {
 public:
  size_t position() const override { return pos; }
  size_t capacity() const override { return cap; }
  size_t memory_bytes() const override {
    return (state[0].size() + state[1].size() + scratch.size()) * sizeof(float);
  }
  void Reset() override {
    pos = 0;
    std::fill(state[cur].data(), state[cur].data() + state[cur].size(), 0.0f);
  }
  std::vector<uint64_t> Shape() const { return {c.n_layer, c.n_embd, c.n_head, c.head_size}; }
  Status Save(std::vector<uint8_t>* out) const override {
    const auto shape = Shape();
    StateWriter w(out, "rwkv6", shape);
    w.PutU64(pos);
    w.PutRaw(state[cur].data(), state[cur].size() * sizeof(float));
    return Status::Ok();
  }
  Status Restore(std::span<const uint8_t> bytes) override {
    StateReader r(bytes);
    FLOE_RETURN_IF_ERROR(r.ReadHeader("rwkv6", Shape()));
    uint64_t n = 0;
    FLOE_RETURN_IF_ERROR(r.TakeU64(&n, cap, "position"));
    if (r.remaining() != state[cur].size() * sizeof(float))
      return InvalidArgument("RWKV-6 state has " + std::to_string(r.remaining()) +
                             " bytes, expected " +
                             std::to_string(state[cur].size() * sizeof(float)));
    FLOE_RETURN_IF_ERROR(
        r.TakeRaw(state[cur].data(), state[cur].size() * sizeof(float), "recurrent state"));
    pos = n;
    return r.Finish();
  }
  Result<std::unique_ptr<SequenceState>> Clone() const override {
    auto copy = std::make_unique<State>();
    FLOE_RETURN_IF_ERROR(copy->Init(c, options));
    std::memcpy(copy->state[copy->cur].data(), state[cur].data(),
                state[cur].size() * sizeof(float));
    copy->pos = pos;
    return std::unique_ptr<SequenceState>(std::move(copy));
  }

  Status Init(const Rwkv6Config& config, const StateOptions& o) {
    c = config;
    options = o;
    cap = o.context_length ? o.context_length : kMaxPositions;
    batch = std::max<size_t>(1, o.max_batch);
    const size_t C = c.n_embd, N = c.head_size;
    per_layer = 2 * C + c.n_head * N * N;
    for (auto& s : state) {
      FLOE_RETURN_IF_ERROR(s.Resize(c.n_layer * per_layer));
      std::fill(s.data(), s.data() + s.size(), 0.0f);
    }
    wkv_scratch = Wkv6ChunkScratch(batch, N);
    const size_t B = batch;
    const size_t floats = B * (16 * C + 5 * c.lora_mix + c.lora_mix + c.lora_decay + c.dim_ffn) +
                          c.n_head * wkv_scratch;
    FLOE_RETURN_IF_ERROR(scratch.Resize(floats));
    float* p = scratch.data();
    auto take = [&](size_t n) {
      float* r = p;
      p += n;
      return r;
    };
    heads = take(c.n_head * wkv_scratch);
    x = take(B * C);
    xa = take(B * C);
    sx = take(B * C);
    tmp = take(B * C);
    for (auto& m : mixed) m = take(B * C);  // xw, xk, xv, xr, xg
    r = take(B * C);
    k = take(B * C);
    v = take(B * C);
    g = take(B * C);
    lw = take(B * C);
    y = take(B * C);
    h5 = take(B * 5 * c.lora_mix);
    hs = take(B * c.lora_mix);
    hd = take(B * c.lora_decay);
    ffn = take(B * c.dim_ffn);
    return Status::Ok();
  }

  // Layer l's part of the current (read) and next (written) state.
  const float* In(size_t l) const { return state[cur].data() + l * per_layer; }
  float* Out(size_t l) { return state[cur ^ 1].data() + l * per_layer; }

  Rwkv6Config c;
  StateOptions options;
  size_t cap = 0, batch = 1, per_layer = 0, wkv_scratch = 0, pos = 0;
  AlignedBuffer<float>
      state[2];  // per layer: att token shift [C], ffn token shift [C], WKV [H][N][N]
  int cur = 0;
  AlignedBuffer<float> scratch;
  float *x = nullptr, *xa = nullptr, *sx = nullptr, *tmp = nullptr, *mixed[5] = {}, *r = nullptr,
        *k = nullptr, *v = nullptr, *g = nullptr, *lw = nullptr, *y = nullptr, *h5 = nullptr,
        *hs = nullptr, *hd = nullptr, *ffn = nullptr, *heads = nullptr;
};

Result<std::unique_ptr<Rwkv6Model>> Rwkv6Model::Create(Rwkv6Network network) {
  FLOE_RETURN_IF_ERROR(network.config.Validate());
  if (network.weights.layers.size() != network.config.n_layer)
    return InvalidArgument("RWKV-6 weights have " + std::to_string(network.weights.layers.size()) +
                           " layers, config says " + std::to_string(network.config.n_layer));
  return std::unique_ptr<Rwkv6Model>(new Rwkv6Model(std::move(network)));
}

CausalLm::MovableWeights Rwkv6Model::Movable() {
  MovableWeights out;
  for (Rwkv6LayerWeights& L : net_.weights.layers)
    for (TensorView* v : {&L.receptance, &L.key, &L.value, &L.gate, &L.output, &L.ffn_key,
                          &L.ffn_receptance, &L.ffn_value})
      out.products.push_back(v);
  if (net_.weights.head.data != net_.weights.emb.data) out.products.push_back(&net_.weights.head);
  return out;
}

Result<std::unique_ptr<SequenceState>> Rwkv6Model::NewState(const StateOptions& options) const {
  if (options.context_length > kMaxPositions)
    return InvalidArgument("context length " + std::to_string(options.context_length) +
                           " exceeds floe's position limit " + std::to_string(kMaxPositions));
  if (options.attention.backend != AttentionBackend::kDense)
    return InvalidArgument(std::string("attention backend '") +
                           AttentionBackendName(options.attention.backend) +
                           "' needs an attention model; rwkv6 is recurrent (use dense)");
  auto s = std::make_unique<State>();
  FLOE_RETURN_IF_ERROR(s->Init(net_.config, options));
  return std::unique_ptr<SequenceState>(std::move(s));
}

Status Rwkv6Model::Forward(SequenceState& base, std::span<const int32_t> tokens, LogitsMode mode,
                           float* logits, ThreadContext& threads,
                           const std::atomic<bool>* cancel) const {
  State* s = dynamic_cast<State*>(&base);
  if (s == nullptr) return InvalidArgument("sequence state does not belong to an RWKV-6 model");
  return ForwardInChunks(tokens, mode, logits, net_.config.vocab_size, s->pos, s->cap, s->batch,
                         [&](const int32_t* t, size_t n, LogitsMode m, float* out) {
                           return ForwardChunk(*s, t, n, m, out, threads, cancel);
                         });
}

// Layers read state[cur] and write state[cur ^ 1]; the buffers swap only when the whole chunk
// is done, so a cancellation between layers leaves the state at the previous chunk, intact.
Status Rwkv6Model::ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode,
                                float* logits, ThreadContext& threads,
                                const std::atomic<bool>* cancel) const {
  const Rwkv6Config& c = net_.config;
  const Rwkv6Weights& w = net_.weights;
  const size_t C = c.n_embd;
  for (size_t t = 0; t < n; ++t) {
    ToF32(w.emb, size_t(tokens[t]) * C, C, s.x + t * C);
    LayerNorm(s.x + t * C, w.ln0_w, w.ln0_b, C, c.ln_eps, s.x + t * C);
  }
  for (size_t l = 0; l < c.n_layer; ++l) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return Cancelled("evaluation cancelled");
    TimeMix(s, l, n, threads);
    ChannelMix(s, l, n, threads);
    if (c.rescale_every && (l + 1) % c.rescale_every == 0) Scale(s.x, 0.5f, n * C);
  }
  s.cur ^= 1;
  s.pos += n;
  if (mode == LogitsMode::kNone) return Status::Ok();
  const size_t first = mode == LogitsMode::kLast ? n - 1 : 0;
  for (size_t t = first; t < n; ++t)
    LayerNorm(s.x + t * C, w.ln_out_w, w.ln_out_b, C, c.ln_eps, s.xa + (t - first) * C);
  Project(w.head, s.xa, n - first, logits, threads);
  return Status::Ok();
}

void Rwkv6Model::TimeMix(State& s, size_t l, size_t n, ThreadContext& threads) const {
  const Rwkv6Config& c = net_.config;
  const Rwkv6LayerWeights& L = net_.weights.layers[l];
  const size_t C = c.n_embd, R = c.lora_mix, Rd = c.lora_decay, H = c.n_head, N = c.head_size;
  const float* shift_in = s.In(l);
  float* shift_out = s.Out(l);
  // Token shift: sx_t = x_{t-1} - x_t on the normed input, x_{-1} from the state.
  for (size_t t = 0; t < n; ++t)
    LayerNorm(s.x + t * C, L.ln1_w, L.ln1_b, C, c.ln_eps, s.xa + t * C);
  // Data-dependent lerp (ddlerp): m_i = W2_i tanh(W1 xx), x_i = x + sx * (maa_i + m_i).
  const RwkvDdlerpWeights mix{.maa_x = L.maa_x,
                              .maa = {L.maa_w, L.maa_k, L.maa_v, L.maa_r, L.maa_g},
                              .w1 = &L.maa_w1,
                              .w2 = L.maa_w2.data()};
  RwkvDdlerp(mix, C, R, n, s.xa, shift_in, shift_out, s.mixed,
             {.sx = s.sx, .tmp = s.tmp, .h5 = s.h5, .hs = s.hs}, threads);
  Project(L.receptance, s.mixed[3], n, s.r, threads);
  Project(L.key, s.mixed[1], n, s.k, threads);
  Project(L.value, s.mixed[2], n, s.v, threads);
  Project(L.gate, s.mixed[4], n, s.g, threads);
  Silu(s.g, n * C);
  // Decay: log w = -exp(time_decay + W_d2 tanh(W_d1 xw)).
  Project(L.decay_w1, s.mixed[0], n, s.hd, threads);
  Tanh(s.hd, n * Rd);
  Project(L.decay_w2, s.hd, n, s.lw, threads);
  for (size_t t = 0; t < n; ++t)
    for (size_t j = 0; j < C; ++j) s.lw[t * C + j] = -std::exp(L.decay[j] + s.lw[t * C + j]);
  // WKV, all heads in parallel.
  const float* wkv_in = shift_in + 2 * C;
  float* wkv_out = shift_out + 2 * C;
  threads.ParallelFor(H, 1, [&](size_t h0, size_t h1) {
    for (size_t h = h0; h < h1; ++h) {
      Wkv6Head a;
      a.n = N;
      a.stride = C;
      a.r = s.r + h * N;
      a.k = s.k + h * N;
      a.v = s.v + h * N;
      a.lw = s.lw + h * N;
      a.u = L.bonus + h * N;
      a.s_in = wkv_in + h * N * N;
      a.s_out = wkv_out + h * N * N;
      a.y = s.y + h * N;
      float* scratch = s.heads + h * s.wkv_scratch;
      if (n == 1)
        Wkv6Recurrent(a, 1, scratch);
      else
        Wkv6Chunk(a, n, scratch);
    }
  });
  // GroupNorm over each head (ln_x), then the gate.
  for (size_t t = 0; t < n; ++t)
    for (size_t h = 0; h < H; ++h) {
      const size_t o = t * C + h * N;
      LayerNorm(s.y + o, L.ln_x_w + h * N, L.ln_x_b + h * N, N, c.group_norm_eps, s.y + o);
    }
  for (size_t i = 0; i < n * C; ++i) s.y[i] *= s.g[i];
  Project(L.output, s.y, n, s.tmp, threads);
  Add(s.tmp, s.x, n * C);
}

void Rwkv6Model::ChannelMix(State& s, size_t l, size_t n, ThreadContext& threads) const {
  const Rwkv6Config& c = net_.config;
  const Rwkv6LayerWeights& L = net_.weights.layers[l];
  const size_t C = c.n_embd;
  for (size_t t = 0; t < n; ++t)
    LayerNorm(s.x + t * C, L.ln2_w, L.ln2_b, C, c.ln_eps, s.xa + t * C);
  RwkvChannelMixWeights w{L.ffn_maa_k, L.ffn_maa_r, &L.ffn_key, &L.ffn_receptance, &L.ffn_value};
  RwkvChannelMixScratch scratch{s.mixed[1], s.mixed[3], s.r, s.tmp, s.ffn};
  RwkvChannelMix(w, C, c.dim_ffn, n, s.xa, s.In(l) + C, s.Out(l) + C, s.x, scratch, threads);
}

}  // namespace floe
