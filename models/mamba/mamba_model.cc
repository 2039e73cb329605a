#include "models/mamba/mamba_model.h"

#include <algorithm>
#include <cstring>

#include "models/mamba/mamba_mixer.h"
#include "platform/base/aligned_buffer.h"
#include "platform/base/state_io.h"
#include "platform/kernels/ops.h"

namespace floe {

// The recurrent state (double-buffered, see ForwardChunk) + the scratch of one chunk. Per
// layer the state holds the conv window [K - 1][Di] (oldest input first) then the SSM state
// [N][Di].
class MambaModel::State final : public SequenceState {
 public:
  size_t position() const override { return pos; }
  size_t capacity() const override { return cap; }
  size_t memory_bytes() const override {
    return (buf[0].size() + buf[1].size() + scratch.size()) * sizeof(float) + mixer.bytes();
  }
  void Reset() override {
    pos = 0;
    std::fill(buf[cur].data(), buf[cur].data() + buf[cur].size(), 0.0f);
  }
  std::vector<uint64_t> Shape() const {
    return {c.n_layer, c.d_model, c.d_inner, c.d_state, c.d_conv};
  }
  Status Save(std::vector<uint8_t>* out) const override {
    const auto shape = Shape();
    StateWriter w(out, "mamba", shape);
    w.PutU64(pos);
    w.PutRaw(buf[cur].data(), buf[cur].size() * sizeof(float));
    return Status::Ok();
  }
  Status Restore(std::span<const uint8_t> bytes) override {
    StateReader r(bytes);
    FLOE_RETURN_IF_ERROR(r.ReadHeader("mamba", Shape()));
    uint64_t n = 0;
    FLOE_RETURN_IF_ERROR(r.TakeU64(&n, cap, "position"));
    const size_t state_bytes = buf[cur].size() * sizeof(float);
    if (r.remaining() != state_bytes)
      return InvalidArgument("Mamba state has " + std::to_string(r.remaining()) +
                             " bytes, expected " + std::to_string(state_bytes));
    // Read into the spare buffer first, so a failure leaves this state unchanged.
    FLOE_RETURN_IF_ERROR(r.TakeRaw(buf[cur ^ 1].data(), state_bytes, "recurrent state"));
    FLOE_RETURN_IF_ERROR(r.Finish());
    cur ^= 1;
    pos = n;
    return Status::Ok();
  }
  Result<std::unique_ptr<SequenceState>> Clone() const override {
    auto copy = std::make_unique<State>();
    FLOE_RETURN_IF_ERROR(copy->Init(c, options));
    std::memcpy(copy->buf[copy->cur].data(), buf[cur].data(), buf[cur].size() * sizeof(float));
    copy->pos = pos;
    return std::unique_ptr<SequenceState>(std::move(copy));
  }

  Status Init(const MambaConfig& config, const StateOptions& opts) {
    c = config;
    options = opts;
    cap = opts.context_length ? opts.context_length : kMaxPositions;
    batch = std::max<size_t>(1, opts.max_batch);
    if (batch > (size_t(1) << 20))
      return InvalidArgument("max_batch " + std::to_string(batch) + " is implausibly large");
    per_layer = c.state_floats_per_layer();
    for (auto& b : buf) {
      FLOE_RETURN_IF_ERROR(b.Resize(per_layer * c.n_layer));
      std::fill(b.data(), b.data() + b.size(), 0.0f);
    }
    shape = MambaMixerShape{c.d_model, c.d_inner, c.d_state, c.d_conv, c.dt_rank, c.d_model};
    FLOE_RETURN_IF_ERROR(mixer.Init(shape, batch));
    const size_t B = batch, D = c.d_model;
    FLOE_RETURN_IF_ERROR(scratch.Resize(3 * B * D));
    x = scratch.data();
    xn = x + B * D;
    tmp = xn + B * D;
    return Status::Ok();
  }

  const float* In(size_t l) const { return buf[cur].data() + l * per_layer; }
  float* Out(size_t l) { return buf[cur ^ 1].data() + l * per_layer; }

  MambaConfig c;
  StateOptions options;
  size_t cap = 0, batch = 1, pos = 0, per_layer = 0;
  AlignedBuffer<float> buf[2];
  int cur = 0;
  MambaMixerShape shape;
  MambaMixerScratch mixer;
  AlignedBuffer<float> scratch;  // x, xn, tmp: batch rows of d_model each
  float *x = nullptr, *xn = nullptr, *tmp = nullptr;
};

Result<std::unique_ptr<MambaModel>> MambaModel::Create(MambaNetwork network) {
  FLOE_RETURN_IF_ERROR(network.config.Validate());
  if (network.weights.layers.size() != network.config.n_layer)
    return InvalidArgument("Mamba weights have " + std::to_string(network.weights.layers.size()) +
                           " layers, config says " + std::to_string(network.config.n_layer));
  return std::unique_ptr<MambaModel>(new MambaModel(std::move(network)));
}

Result<std::unique_ptr<SequenceState>> MambaModel::NewState(const StateOptions& options) const {
  if (options.context_length > kMaxPositions)
    return InvalidArgument("context length " + std::to_string(options.context_length) +
                           " exceeds floe's position limit " + std::to_string(kMaxPositions));
  if (options.attention.backend != AttentionBackend::kDense)
    return InvalidArgument("Mamba has no attention: only the default (dense) backend applies");
  auto s = std::make_unique<State>();
  FLOE_RETURN_IF_ERROR(s->Init(net_.config, options));
  return std::unique_ptr<SequenceState>(std::move(s));
}

Status MambaModel::Forward(SequenceState& base, std::span<const int32_t> tokens, LogitsMode mode,
                           float* logits, ThreadContext& threads,
                           const std::atomic<bool>* cancel) const {
  State* s = dynamic_cast<State*>(&base);
  if (s == nullptr) return InvalidArgument("sequence state does not belong to a Mamba model");
  return ForwardInChunks(tokens, mode, logits, net_.config.vocab_size, s->pos, s->cap, s->batch,
                         [&](const int32_t* t, size_t n, LogitsMode m, float* out) {
                           return ForwardChunk(*s, t, n, m, out, threads, cancel);
                         });
}

// Layers read buf[cur] and write buf[cur ^ 1]; the buffers swap only when the whole chunk is
// done, so a cancellation between layers leaves the state at the previous chunk, intact.
Status MambaModel::ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode,
                                float* logits, ThreadContext& threads,
                                const std::atomic<bool>* cancel) const {
  const MambaConfig& c = net_.config;
  const MambaWeights& w = net_.weights;
  const size_t D = c.d_model;
  for (size_t t = 0; t < n; ++t) ToF32(w.embed, size_t(tokens[t]) * D, D, s.x + t * D);
  for (size_t l = 0; l < c.n_layer; ++l) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return Cancelled("evaluation cancelled");
    Mixer(s, l, n, threads);
  }
  s.cur ^= 1;
  s.pos += n;
  if (mode == LogitsMode::kNone) return Status::Ok();
  const size_t first = mode == LogitsMode::kLast ? n - 1 : 0;
  for (size_t t = first; t < n; ++t)
    RmsNorm(s.x + t * D, w.norm_f, D, c.norm_eps, s.xn + (t - first) * D);
  MatMulTokens(w.lm_head, s.xn, n - first, logits, threads);
  return Status::Ok();
}

void MambaModel::Mixer(State& s, size_t l, size_t n, ThreadContext& threads) const {
  const MambaConfig& c = net_.config;
  const MambaLayerWeights& L = net_.weights.layers[l];
  const size_t D = c.d_model;
  for (size_t t = 0; t < n; ++t) RmsNorm(s.x + t * D, L.norm, D, c.norm_eps, s.xn + t * D);
  MambaMixerForward(L, s.shape, s.xn, n, s.In(l), s.Out(l), s.mixer, s.tmp, threads);
  Add(s.tmp, s.x, n * D);
}

}  // namespace floe
