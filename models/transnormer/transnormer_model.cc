#include "models/transnormer/transnormer_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attention/linear/lightning_attention.h"
#include "platform/base/aligned_buffer.h"
#include "platform/kernels/ops.h"
#include "platform/base/state_io.h"

namespace floe {

namespace {

// SimpleRMSNorm (norm.py; paper eq. 8): out = x * rsqrt(mean(x^2) + eps), no gain. `out` may
// alias `x`.
void SimpleRmsNorm(const float* x, size_t n, float eps, float* out) {
  double ss = 0.0;
  for (size_t i = 0; i < n; ++i) ss += double(x[i]) * double(x[i]);
  const float inv = 1.0f / std::sqrt(float(ss / double(n)) + eps);
  for (size_t i = 0; i < n; ++i) out[i] = x[i] * inv;
}

// The q/k feature map (utils.get_activation_fn), in place.
void Activate(TransnormerActivation act, float* x, size_t n) {
  switch (act) {
    case TransnormerActivation::kSilu:
      Silu(x, n);
      return;
    case TransnormerActivation::kRelu:
      for (size_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
      return;
    case TransnormerActivation::kSigmoid:
      for (size_t i = 0; i < n; ++i) x[i] = 1.0f / (1.0f + std::exp(-x[i]));
      return;
    case TransnormerActivation::kOnePlusElu:
      for (size_t i = 0; i < n; ++i) x[i] = x[i] > 0.0f ? 1.0f + x[i] : std::exp(x[i]);
      return;
    case TransnormerActivation::kIdentity:
      return;
  }
}

}  // namespace

// The recurrent state (double-buffered, see ForwardChunk) + the scratch of one chunk.
class TransnormerModel::State final : public SequenceState {
 public:
  size_t position() const override { return pos; }
  size_t capacity() const override { return cap; }
  size_t memory_bytes() const override {
    return (kv[0].size() + kv[1].size() + scratch.size()) * sizeof(float);
  }
  void Reset() override {
    pos = 0;
    std::fill(kv[cur].data(), kv[cur].data() + kv[cur].size(), 0.0f);
  }
  // Everything the payload layout depends on: layers, heads, widths, each layer's d_k.
  std::vector<uint64_t> Shape() const {
    std::vector<uint64_t> s = {c.n_layers, c.n_heads, c.embed_dim, c.hidden_dim};
    for (size_t l = 0; l < c.n_layers; ++l) s.push_back(c.key_dim(l));
    return s;
  }
  Status Save(std::vector<uint8_t>* out) const override {
    const auto shape = Shape();
    StateWriter w(out, "transnormer", shape);
    w.PutU64(pos);
    w.PutRaw(kv[cur].data(), kv[cur].size() * sizeof(float));
    return Status::Ok();
  }
  Status Restore(std::span<const uint8_t> bytes) override {
    StateReader r(bytes);
    FLOE_RETURN_IF_ERROR(r.ReadHeader("transnormer", Shape()));
    uint64_t n = 0;
    FLOE_RETURN_IF_ERROR(r.TakeU64(&n, cap, "position"));
    const size_t state_bytes = kv[cur].size() * sizeof(float);
    if (r.remaining() != state_bytes)
      return InvalidArgument("TransNormerLLM state has " + std::to_string(r.remaining()) +
                             " bytes, expected " + std::to_string(state_bytes));
    // Read into the spare buffer first, so a failure leaves this state unchanged.
    FLOE_RETURN_IF_ERROR(r.TakeRaw(kv[cur ^ 1].data(), state_bytes, "kv state"));
    FLOE_RETURN_IF_ERROR(r.Finish());
    cur ^= 1;
    pos = n;
    return Status::Ok();
  }
  Result<std::unique_ptr<SequenceState>> Clone() const override {
    auto copy = std::make_unique<State>();
    FLOE_RETURN_IF_ERROR(copy->Init(c, options));
    std::memcpy(copy->kv[copy->cur].data(), kv[cur].data(), kv[cur].size() * sizeof(float));
    copy->pos = pos;
    return std::unique_ptr<SequenceState>(std::move(copy));
  }

  Status Init(const TransnormerConfig& config, const StateOptions& opts) {
    c = config;
    options = opts;
    cap = opts.context_length ? opts.context_length : kMaxPositions;
    batch = std::max<size_t>(1, opts.max_batch);
    const size_t H = c.n_heads, dv = c.head_dim();
    size_t total = 0, dk_max = 0;
    layer_offset.resize(c.n_layers);
    for (size_t l = 0; l < c.n_layers; ++l) {
      layer_offset[l] = total;
      total += H * c.key_dim(l) * dv;
      dk_max = std::max(dk_max, c.key_dim(l));
    }
    for (auto& b : kv) {
      FLOE_RETURN_IF_ERROR(b.Resize(total));
      std::fill(b.data(), b.data() + b.size(), 0.0f);
    }
    const size_t B = batch, D = c.embed_dim, Hd = c.hidden_dim, G = c.glu_dim;
    head_scratch = LightningChunkScratch(B, dk_max, dv);
    qk_stride = H * dk_max;
    const size_t floats = B * (3 * D + 4 * Hd + 2 * qk_stride + Hd + 2 * G) + H * head_scratch;
    FLOE_RETURN_IF_ERROR(scratch.Resize(floats));
    float* p = scratch.data();
    auto take = [&](size_t n) {
      float* r = p;
      p += n;
      return r;
    };
    x = take(B * D);
    xn = take(B * D);
    tmp = take(B * D);
    qkvu = take(B * 4 * Hd);
    q = take(B * qk_stride);
    k = take(B * qk_stride);
    o = take(B * Hd);
    g1 = take(B * G);
    g2 = take(B * G);
    heads = take(H * head_scratch);
    return Status::Ok();
  }

  // Layer l's heads in the current (read) and next (written) state, [H][d_k][d_v].
  const float* In(size_t l) const { return kv[cur].data() + layer_offset[l]; }
  float* Out(size_t l) { return kv[cur ^ 1].data() + layer_offset[l]; }

  TransnormerConfig c;
  StateOptions options;
  size_t cap = 0, batch = 1, pos = 0, head_scratch = 0, qk_stride = 0;
  std::vector<size_t> layer_offset;
  AlignedBuffer<float> kv[2];
  int cur = 0;
  AlignedBuffer<float> scratch;
  float *x = nullptr, *xn = nullptr, *tmp = nullptr, *qkvu = nullptr, *q = nullptr, *k = nullptr,
        *o = nullptr, *g1 = nullptr, *g2 = nullptr, *heads = nullptr;
};

TransnormerModel::TransnormerModel(TransnormerNetwork n) : net_(std::move(n)) {
  const TransnormerConfig& c = net_.config;
  log_decay_.resize(c.n_layers * c.n_heads);
  for (size_t l = 0; l < c.n_layers; ++l)
    for (size_t h = 0; h < c.n_heads; ++h)
      log_decay_[l * c.n_heads + h] = -TransnormerDecayRate(c, l, h);
}

Result<std::unique_ptr<TransnormerModel>> TransnormerModel::Create(TransnormerNetwork network) {
  FLOE_RETURN_IF_ERROR(network.config.Validate());
  const TransnormerConfig& c = network.config;
  if (network.weights.layers.size() != c.n_layers)
    return InvalidArgument("TransNormerLLM weights have " +
                           std::to_string(network.weights.layers.size()) + " layers, config says " +
                           std::to_string(c.n_layers));
  for (size_t l = 0; l < c.n_layers; ++l)
    if (c.lrpe[l] != (network.weights.layers[l].theta != nullptr))
      return InvalidArgument("TransNormerLLM layer " + std::to_string(l) +
                             ": LRPE theta does not match the config");
  return std::unique_ptr<TransnormerModel>(new TransnormerModel(std::move(network)));
}

CausalLm::MovableWeights TransnormerModel::Movable() {
  MovableWeights out;
  for (TransnormerLayerWeights& L : net_.weights.layers)
    for (TensorView* v : {&L.qkvu, &L.out, &L.l1, &L.l2, &L.l3}) out.products.push_back(v);
  TransnormerWeights& w = net_.weights;
  if (w.lm_head.data != w.embed.data) out.products.push_back(&w.lm_head);
  return out;
}

Result<std::unique_ptr<SequenceState>> TransnormerModel::NewState(
    const StateOptions& options) const {
  if (options.context_length > kMaxPositions)
    return InvalidArgument("context length " + std::to_string(options.context_length) +
                           " exceeds floe's position limit " + std::to_string(kMaxPositions));
  // The state (two buffers of H d_k d_v floats per layer) is checked against the weights that
  // describe it as well as the config's absolute cap (docs/allocation-audit.md item 5): a real
  // model's qkvu projection alone (4 Hd x D) outweighs one buffer's Hd x d_k for d_k <= D, even
  // at 4 bits, so a small file cannot make each new sequence allocate gigabytes.
  const size_t state_bytes = 2 * net_.config.state_floats() * sizeof(float);
  const size_t allowed = std::max(4 * net_.weights.bytes, kStateFloorBytes);
  if (state_bytes > allowed)
    return InvalidArgument("the recurrent state (" + std::to_string(state_bytes >> 20) +
                           " MiB per sequence) is out of proportion to the model's " +
                           std::to_string(net_.weights.bytes >> 20) +
                           " MiB of weights: the config or tensors are not a real model's");
  auto s = std::make_unique<State>();
  FLOE_RETURN_IF_ERROR(s->Init(net_.config, options));
  return std::unique_ptr<SequenceState>(std::move(s));
}

Status TransnormerModel::Forward(SequenceState& base, std::span<const int32_t> tokens,
                                 LogitsMode mode, float* logits, ThreadContext& threads,
                                 const std::atomic<bool>* cancel) const {
  State* s = dynamic_cast<State*>(&base);
  if (s == nullptr)
    return InvalidArgument("sequence state does not belong to a TransNormerLLM model");
  return ForwardInChunks(tokens, mode, logits, net_.config.vocab_size, s->pos, s->cap, s->batch,
                         [&](const int32_t* t, size_t n, LogitsMode m, float* out) {
                           return ForwardChunk(*s, t, n, m, out, threads, cancel);
                         });
}

// Layers read kv[cur] and write kv[cur ^ 1]; the buffers swap only when the whole chunk is
// done, so a cancellation between layers leaves the state at the previous chunk, intact.
Status TransnormerModel::ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode,
                                      float* logits, ThreadContext& threads,
                                      const std::atomic<bool>* cancel) const {
  const TransnormerConfig& c = net_.config;
  const TransnormerWeights& w = net_.weights;
  const size_t D = c.embed_dim;
  // embed_scale = sqrt(D) as a Python float, applied to the float32 embedding.
  const float scale = c.scale_embedding ? float(std::sqrt(double(D))) : 1.0f;
  for (size_t t = 0; t < n; ++t) {
    ToF32(w.embed, size_t(tokens[t]) * D, D, s.x + t * D);
    if (c.scale_embedding) Scale(s.x + t * D, scale, D);
  }
  for (size_t l = 0; l < c.n_layers; ++l) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return Cancelled("evaluation cancelled");
    TokenMixer(s, l, n, threads);
    ChannelMixer(s, l, n, threads);
  }
  s.cur ^= 1;
  s.pos += n;
  if (mode == LogitsMode::kNone) return Status::Ok();
  const size_t first = mode == LogitsMode::kLast ? n - 1 : 0;
  for (size_t t = first; t < n; ++t)
    SimpleRmsNorm(s.x + t * D, D, c.norm_eps, s.xn + (t - first) * D);
  MatMulTokens(w.lm_head, s.xn, n - first, logits, threads);
  return Status::Ok();
}

void TransnormerModel::TokenMixer(State& s, size_t l, size_t n, ThreadContext& threads) const {
  const TransnormerConfig& c = net_.config;
  const TransnormerLayerWeights& L = net_.weights.layers[l];
  const size_t D = c.embed_dim, Hd = c.hidden_dim, H = c.n_heads, dh = c.head_dim(),
               dk = c.key_dim(l);
  for (size_t t = 0; t < n; ++t) SimpleRmsNorm(s.x + t * D, D, c.norm_eps, s.xn + t * D);
  MatMulTokens(L.qkvu, s.xn, n, s.qkvu, threads);  // per token: q | k | v | u, each H x d_h
  // q, k = act(q), act(k); on LRPE layers [x cos(theta p), x sin(theta p)] per head, p the
  // absolute position (Lrpe.forward with offset = tokens already consumed).
  for (size_t t = 0; t < n; ++t) {
    float* row = s.qkvu + t * 4 * Hd;
    Activate(c.act, row, 2 * Hd);
    float* qd = s.q + t * s.qk_stride;
    float* kd = s.k + t * s.qk_stride;
    if (L.theta == nullptr) {
      std::memcpy(qd, row, Hd * sizeof(float));
      std::memcpy(kd, row + Hd, Hd * sizeof(float));
      continue;
    }
    const float p = float(s.pos + t);  // the official index is a float32 arange + offset
    for (size_t h = 0; h < H; ++h)
      for (size_t i = 0; i < dh; ++i) {
        const float angle = L.theta[h * dh + i] * p;
        const float cs = std::cos(angle), sn = std::sin(angle);
        const float qv = row[h * dh + i], kv = row[Hd + h * dh + i];
        qd[h * dk + i] = qv * cs;
        qd[h * dk + dh + i] = qv * sn;
        kd[h * dk + i] = kv * cs;
        kd[h * dk + dh + i] = kv * sn;
      }
  }
  const float* state_in = s.In(l);
  float* state_out = s.Out(l);
  threads.ParallelFor(H, 1, [&](size_t h0, size_t h1) {
    for (size_t h = h0; h < h1; ++h) {
      LightningHead a;
      a.dk = dk;
      a.dv = dh;
      a.q = s.q + h * dk;
      a.k = s.k + h * dk;
      a.v = s.qkvu + 2 * Hd + h * dh;
      a.o = s.o + h * dh;
      a.q_stride = a.k_stride = s.qk_stride;
      a.v_stride = 4 * Hd;
      a.o_stride = Hd;
      a.log_decay = log_decay(l, h);
      a.s_in = state_in + h * dk * dh;
      a.s_out = state_out + h * dk * dh;
      if (n == 1)
        LightningRecurrent(a, 1);
      else
        LightningChunk(a, n, s.heads + h * s.head_scratch);
    }
  });
  // out = W_out (u * SRMSNorm(o)), the norm over all heads together (hidden_dim values).
  for (size_t t = 0; t < n; ++t) {
    float* o = s.o + t * Hd;
    const float* u = s.qkvu + t * 4 * Hd + 3 * Hd;
    SimpleRmsNorm(o, Hd, c.norm_eps, o);
    for (size_t i = 0; i < Hd; ++i) o[i] *= u[i];
  }
  MatMulTokens(L.out, s.o, n, s.tmp, threads);
  Add(s.tmp, s.x, n * D);
}

void TransnormerModel::ChannelMixer(State& s, size_t l, size_t n, ThreadContext& threads) const {
  const TransnormerConfig& c = net_.config;
  const TransnormerLayerWeights& L = net_.weights.layers[l];
  const size_t D = c.embed_dim, G = c.glu_dim;
  for (size_t t = 0; t < n; ++t) SimpleRmsNorm(s.x + t * D, D, c.norm_eps, s.xn + t * D);
  MatMulTokens(L.l1, s.xn, n, s.g1, threads);
  MatMulTokens(L.l2, s.xn, n, s.g2, threads);
  for (size_t i = 0; i < n * G; ++i) s.g1[i] *= s.g2[i];
  MatMulTokens(L.l3, s.g1, n, s.tmp, threads);
  Add(s.tmp, s.x, n * D);
}

}  // namespace floe
