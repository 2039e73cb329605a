#include "models/goldfinch/goldfinch_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "attention/linear/wkv6.h"
#include "models/goldfinch/goldfinch_state.h"
#include "models/rwkv6/rwkv6_blocks.h"
#include "platform/kernels/ops.h"

namespace floe {

Status GoldfinchModel::State::Init(const GoldfinchConfig& config, const StateOptions& o) {
  c = config;
  options = o;
  cap = o.context_length ? o.context_length : kMaxPositions;
  batch = std::max<size_t>(1, o.max_batch);
  const size_t C = c.n_embd, N = c.head_size, H = c.n_head, G = c.n_gold();
  window = 2 * G;
  per_finch = 2 * C + H * N * N;
  ring_offset = c.first_gold_layer * per_finch + G * 2 * C;
  for (auto& f : fixed) {
    FLOE_RETURN_IF_ERROR(f.Resize(ring_offset + window * C));
    std::fill(f.data(), f.data() + f.size(), 0.0f);
  }
  gold_pos[0] = gold_pos[1] = 0;
  FLOE_RETURN_IF_ERROR(cache.Init(c.kv_a_dim, o.kv_dtype));
  knn = o.attention.backend != AttentionBackend::kDense;
  kv_on = o.attention.gold_kv_cache || knn;
  kv_rows = 0;
  if (kv_on) FLOE_RETURN_IF_ERROR(kv.Init(G, H, N, cap));
  if (knn) {
    FLOE_RETURN_IF_ERROR(o.attention.Validate(cap));
    // The empty indexes may take what the f32 keys and values they index would at this
    // capacity (at least 64 MiB).
    size_t kv_bytes = SIZE_MAX;
    if (__builtin_mul_overflow(2 * G * H * N * sizeof(float), cap, &kv_bytes)) kv_bytes = SIZE_MAX;
    FLOE_RETURN_IF_ERROR(
        index.Init(G, H, N, o.attention, std::max(kv_bytes, kKnnIndexFloorBytes)));
    shared.Init(G, H, o.attention.search_block);
  }
  wkv_scratch = Wkv6ChunkScratch(batch, N);
  const size_t B = batch, M = batch + window, KB = kKeyBlock, K1 = KB + 1;
  gold_rows = M;
  const size_t Rh = std::max(c.lora_mix, c.gold_lora_mix);
  const size_t Rd = std::max(c.lora_decay, c.lora_value2);
  const size_t Rq = c.gold_lora_mix, Rk = c.gold_lora_value, A = c.kv_a_dim;
  const size_t floats = B * (16 * C + 5 * c.lora_mix + Rh + Rd + A) + H * wkv_scratch + C +
                        M * (10 * C + Rq + 2 * H + c.dim_ffn) + K1 * (C + A) + 2 * K1 * C +
                        KB * (8 * C + 3 * Rq + Rk) + 64;
  FLOE_RETURN_IF_ERROR(scratch.Resize(floats));
  std::fill(scratch.data(), scratch.data() + scratch.size(), 0.0f);
  float* p = scratch.data();
  auto take = [&](size_t n) {
    float* r = p;
    p += n;
    return r;
  };
  heads = take(H * wkv_scratch);
  x = take(B * C);
  xa = take(B * C);
  sx = take(B * C);
  tmp = take(B * C);
  for (auto& m : mixed) m = take(B * C);  // xr, xk, xv, xw, xv2
  r = take(B * C);
  k = take(B * C);
  v = take(B * C);
  v2 = take(B * C);
  lw = take(B * C);
  y = take(B * C);
  h5 = take(B * 5 * c.lora_mix);
  hs = take(B * Rh);
  hd = take(B * Rd);
  cvals = take(B * A);
  zero_u = take(C);
  gx = take(M * C);
  gxa = take(M * C);
  gsx = take(M * C);
  gtmp = take(M * C);
  gq = take(M * C);
  gatt = take(M * C);
  for (auto& m : cm) m = take(M * C);
  gh = take(M * Rq);
  gm = take(M * H);
  gl = take(M * H);
  ffn = take(M * c.dim_ffn);
  kcat = take(K1 * (C + A));
  kxo = take(K1 * C);
  kc = take(K1 * C);
  kxxx = take(KB * C);
  kh = take(KB * 2 * Rq);
  khs = take(KB * Rq);
  kmk = take(KB * C);
  kmv = take(KB * C);
  kk = take(KB * C);
  kvv = take(KB * C);
  khk = take(KB * Rk);
  ktmp = take(KB * C);
  kbuf = take(KB * C);
  vbuf = take(KB * C);
  return Status::Ok();
}

Result<std::unique_ptr<GoldfinchModel>> GoldfinchModel::Create(GoldfinchNetwork network) {
  FLOE_RETURN_IF_ERROR(network.config.Validate());
  if (network.weights.layers.size() != network.config.n_layer)
    return InvalidArgument("GoldFinch weights have " +
                           std::to_string(network.weights.layers.size()) + " layers, config says " +
                           std::to_string(network.config.n_layer));
  return std::unique_ptr<GoldfinchModel>(new GoldfinchModel(std::move(network)));
}

size_t GoldfinchModel::cache_bytes_per_token(DType kv_dtype) const {
  return sizeof(int32_t) + net_.config.kv_a_dim * DTypeBytes(kv_dtype, 1);
}

size_t GoldfinchModel::speed_cache_bytes_per_token() const {
  return 2 * net_.config.n_gold() * net_.config.n_embd * sizeof(float);
}

size_t GoldfinchModel::speed_cache_bytes(const SequenceState& state) {
  const State* s = dynamic_cast<const State*>(&state);
  return s ? s->speed_cache_bytes() : 0;
}

Result<std::unique_ptr<SequenceState>> GoldfinchModel::NewState(const StateOptions& options) const {
  if (options.context_length > kMaxPositions)
    return InvalidArgument("context length " + std::to_string(options.context_length) +
                           " exceeds floe's position limit " + std::to_string(kMaxPositions));
  if (options.kv_dtype != DType::kF32 && options.kv_dtype != DType::kF16)
    return InvalidArgument("goldfinch stores its TokenCat cache as f32 or f16");
  auto s = std::make_unique<State>();
  FLOE_RETURN_IF_ERROR(s->Init(net_.config, options));
  return std::unique_ptr<SequenceState>(std::move(s));
}

Status GoldfinchModel::Forward(SequenceState& base, std::span<const int32_t> tokens,
                               LogitsMode mode, float* logits, ThreadContext& threads,
                               const std::atomic<bool>* cancel) const {
  State* s = dynamic_cast<State*>(&base);
  if (s == nullptr) return InvalidArgument("sequence state does not belong to a GoldFinch model");
  return ForwardInChunks(tokens, mode, logits, net_.config.vocab_size, s->pos, s->cap, s->batch,
                         [&](const int32_t* t, size_t n, LogitsMode m, float* out) {
                           return ForwardChunk(*s, t, n, m, out, threads, cancel);
                         });
}

Status GoldfinchModel::ForwardChunk(State& s, const int32_t* tokens, size_t n, LogitsMode mode,
                                    float* logits, ThreadContext& threads,
                                    const std::atomic<bool>* cancel) const {
  const GoldfinchConfig& c = net_.config;
  const GoldfinchWeights& w = net_.weights;
  const size_t C = c.n_embd, A = c.kv_a_dim, F = c.first_gold_layer, G = c.n_gold();
  const size_t W = s.window, p = s.pos, end = p + n - 1;
  auto cancelled = [&] { return cancel && cancel->load(std::memory_order_relaxed); };
  s.cache.Truncate(p);  // drops what a cancelled or failed chunk appended
  for (size_t t = 0; t < n; ++t) {
    ToF32(w.emb, size_t(tokens[t]) * C, C, s.x + t * C);
    RwkvLayerNorm(s.x + t * C, w.ln0_w, w.ln0_b, C, c.ln_eps, s.x + t * C);
  }
  // Finch-C2 layers over the whole chunk.
  for (size_t l = 0; l < F; ++l) {
    if (cancelled()) return Cancelled("evaluation cancelled");
    FinchTimeMix(s, l, n, threads);
    ChannelMix(s, l, s.x, n, s.In(l) + C, s.Out(l) + C, threads);
  }
  // TokenCat cache: c_t = W_a x_t at the first GOLD layer's input (src/model.py, layer F - 1).
  RwkvProject(w.kv_cache_a, s.x, n, s.cvals, threads);
  for (size_t t = 0; t < n; ++t) {
    Status st = s.cache.Append(tokens[t], s.cvals + t * A);
    if (!st.ok()) {
      s.cache.Truncate(p);
      return st;
    }
  }
  if (s.kv_on) FLOE_RETURN_IF_ERROR(FillSpeedCache(s, p + n, threads));
  // GOLD shifts and the ring carry over unless written below.
  std::memcpy(s.Out(F), s.In(F), (s.fixed[0].size() - s.LayerOffset(F)) * sizeof(float));
  size_t gold_pos = s.gold_pos[s.cur];
  if (mode != LogitsMode::kNone) {
    // Positions whose logits are asked for: [q0, end]. Exact outputs there need the first GOLD
    // layer's input from q0 - 2G on (each GOLD layer's two token shifts reach back two
    // positions); when the GOLD state is exact from an earlier position inside that window,
    // start there instead.
    const size_t q0 = mode == LogitsMode::kAll ? p : end;
    const size_t window_start = q0 >= W ? q0 - W : 0;
    const bool exact = gold_pos >= window_start;
    const size_t start = exact ? gold_pos : window_start;
    const size_t m = end - start + 1;
    for (size_t j = start; j <= end; ++j) {
      const float* src = j < p ? s.RingIn() + (j % W) * C : s.x + (j - p) * C;
      std::memcpy(s.gx + (j - start) * C, src, C * sizeof(float));
    }
    for (size_t g = 0; g < G; ++g) {
      if (cancelled()) return Cancelled("evaluation cancelled");
      const size_t l = F + g;
      // Without an exact starting state, layer g's first 2g rows are not exact and not needed.
      const size_t off = exact ? 0 : 2 * g;
      float* x = s.gx + off * C;
      FLOE_RETURN_IF_ERROR(GoldTimeMix(s, l, x, start + off, m - off, s.In(l), s.Out(l), threads));
      ChannelMix(s, l, x, m - off, s.In(l) + C, s.Out(l) + C, threads);
    }
    gold_pos = end + 1;
    const size_t first = q0 - start;
    for (size_t t = first; t < m; ++t)
      RwkvLayerNorm(s.gx + t * C, w.ln_out_w, w.ln_out_b, C, c.ln_eps, s.gxa + (t - first) * C);
    RwkvProject(w.head, s.gxa, m - first, logits, threads);
  }
  for (size_t t = n > W ? n - W : 0; t < n; ++t)
    std::memcpy(s.RingOut() + ((p + t) % W) * C, s.x + t * C, C * sizeof(float));
  s.gold_pos[s.cur ^ 1] = gold_pos;
  s.cur ^= 1;
  s.pos += n;
  return Status::Ok();
}

// tmix_x060c2.TMix_x060c2.forward.
void GoldfinchModel::FinchTimeMix(State& s, size_t l, size_t n, ThreadContext& threads) const {
  const GoldfinchConfig& c = net_.config;
  const GoldfinchLayerWeights& LW = net_.weights.layers[l];
  const FinchC2Weights& L = LW.finch;
  const size_t C = c.n_embd, R = c.lora_mix, H = c.n_head, N = c.head_size;
  const float* shift_in = s.In(l);
  float* shift_out = s.Out(l);
  for (size_t t = 0; t < n; ++t)
    RwkvLayerNorm(s.x + t * C, LW.ln1_w, LW.ln1_b, C, c.ln_eps, s.xa + t * C);
  // ddlerp: m_i = W2_i tanh(W1 xx), x_i = x + sx * (maa_i + m_i), i in r, k, v, w, v2.
  const RwkvDdlerpWeights mix{.maa_x = L.maa_x,
                              .maa = {L.maa_r, L.maa_k, L.maa_v, L.maa_w, L.maa_v2},
                              .w1 = &L.maa_w1,
                              .w2 = L.maa_w2.data()};
  RwkvDdlerp(mix, C, R, n, s.xa, shift_in, shift_out, s.mixed,
             {.sx = s.sx, .tmp = s.tmp, .h5 = s.h5, .hs = s.hs}, threads);
  RwkvProject(L.receptance, s.mixed[0], n, s.r, threads);
  RwkvProject(L.key, s.mixed[1], n, s.k, threads);
  RwkvProject(L.value, s.mixed[2], n, s.v, threads);
  // v2 = W_v xv2 + W_v2b tanh(W_v2a xv2).
  RwkvProject(L.value, s.mixed[4], n, s.v2, threads);
  RwkvProject(L.value2_w1, s.mixed[4], n, s.hd, threads);
  TanhInPlace(s.hd, n * c.lora_value2);
  RwkvProject(L.value2_w2, s.hd, n, s.tmp, threads);
  Add(s.tmp, s.v2, n * C);
  // Decay: log w = -exp(time_decay + W_d2 tanh(W_d1 xw)); keys scaled by 1 - w.
  RwkvProject(L.decay_w1, s.mixed[3], n, s.hd, threads);
  TanhInPlace(s.hd, n * c.lora_decay);
  RwkvProject(L.decay_w2, s.hd, n, s.lw, threads);
  for (size_t t = 0; t < n; ++t)
    for (size_t j = 0; j < C; ++j) {
      const size_t i = t * C + j;
      s.lw[i] = -std::exp(L.decay[j] + s.lw[i]);
      if (c.use_one_minus_w) s.k[i] *= 1.0f - std::exp(s.lw[i]);
    }
  const float* u = c.use_v2 ? s.zero_u : L.bonus;
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
      a.u = u + h * N;
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
  if (c.use_v2) Add(s.v2, s.y, n * C);
  for (size_t t = 0; t < n; ++t)
    RwkvLayerNorm(s.y + t * C, L.ln_x_w, L.ln_x_b, C, c.ln_eps, s.y + t * C);
  RwkvProject(L.output, s.y, n, s.tmp, threads);
  Add(s.tmp, s.x, n * C);
}

// cmix_x060 on LN2(x), rows of `x` updated in place.
void GoldfinchModel::ChannelMix(State& s, size_t l, float* x, size_t n, const float* shift_in,
                                float* shift_out, ThreadContext& threads) const {
  const GoldfinchConfig& c = net_.config;
  const GoldfinchLayerWeights& L = net_.weights.layers[l];
  const size_t C = c.n_embd;
  for (size_t t = 0; t < n; ++t)
    RwkvLayerNorm(x + t * C, L.ln2_w, L.ln2_b, C, c.ln_eps, s.gxa + t * C);
  RwkvChannelMixWeights w{L.ffn_maa_k, L.ffn_maa_r, &L.ffn_key, &L.ffn_receptance, &L.ffn_value};
  RwkvChannelMixScratch scratch{s.cm[0], s.cm[1], s.cm[2], s.cm[3], s.ffn};
  RwkvChannelMix(w, C, c.dim_ffn, n, s.gxa, shift_in, shift_out, x, scratch, threads);
}

}  // namespace floe
