#include "models/goldfinch/goldfinch_random.h"

#include <algorithm>
#include <cmath>

#include "models/random_tensors.h"

namespace floe {

namespace {

class Builder {
 public:
  Builder(RandomGoldfinch* out, SplitMix64* rng) : out_(out), rng_(rng) {}

  template <class Gen>
  void Add(const std::string& name, std::vector<uint64_t> shape, DType dtype, Gen gen) {
    AppendGeneratedTensor(&out_->tensors, &out_->storage, name, std::move(shape), dtype, gen);
  }
  // Uniform in [-a, a), a unit-gain scale for `fan_in` inputs.
  void Matrix(const std::string& name, uint64_t rows, uint64_t cols, DType dtype, float gain,
              uint64_t fan_in) {
    const float a = gain * std::sqrt(3.0f / float(fan_in));
    Add(name, {rows, cols}, dtype, [&](size_t) { return rng_->Symmetric(a); });
  }
  void Linear(const std::string& name, uint64_t out, uint64_t in, DType dtype, float gain = 1.0f) {
    Matrix(name, out, in, dtype, gain, in);
  }
  void Vector(const std::string& name, std::vector<uint64_t> shape, float center, float spread) {
    Add(name, std::move(shape), DType::kF32,
        [&](size_t) { return center + rng_->Symmetric(spread); });
  }
  void LayerNorm(const std::string& name, uint64_t C) {
    Vector(name + ".weight", {C}, 1.0f, 0.1f);
    Vector(name + ".bias", {C}, 0.0f, 0.05f);
  }

 private:
  RandomGoldfinch* out_;
  SplitMix64* rng_;
};

}  // namespace

Result<GoldfinchConfig> GoldfinchPresetShape(const std::string& name) {
  GoldfinchConfig c;
  c.lora_mix = 32;
  c.lora_decay = 64;
  c.lora_value2 = 64;
  c.gold_lora_mix = 32;
  if (name == "tiny")
    c.vocab_size = 256, c.n_embd = 64, c.n_layer = 6, c.dim_ffn = 224, c.head_size = 32;
  else if (name == "small")
    c.vocab_size = 65536, c.n_embd = 768, c.n_layer = 12, c.dim_ffn = 2688, c.head_size = 64;
  else if (name == "1b5")
    c.vocab_size = 65536, c.n_embd = 2048, c.n_layer = 24, c.dim_ffn = 7168, c.head_size = 64;
  else
    return InvalidArgument("unknown goldfinch preset '" + name + "' (tiny, small, 1b5)");
  c.n_head = c.n_embd / c.head_size;
  c.kv_a_dim = c.n_embd / 16;                                    // kv_cache_compression_ratio 16
  c.gold_lora_value = std::max<size_t>(c.n_embd / 16, 64);       // D_VALUE_LORA
  c.first_gold_layer = GoldfinchFirstGoldLayer(c.n_layer, 3.0);  // inv_other_layer_ratio 3
  return c;
}

Result<std::unique_ptr<RandomGoldfinch>> MakeRandomGoldfinch(GoldfinchConfig c, uint64_t seed,
                                                             DType dtype) {
  if (c.head_size == 0 || c.n_embd % c.head_size != 0)
    return InvalidArgument("random GoldFinch: n_embd must be a multiple of head_size");
  c.n_head = c.n_embd / c.head_size;
  FLOE_RETURN_IF_ERROR(c.Validate());
  auto out = std::make_unique<RandomGoldfinch>();
  SplitMix64 rng(seed);
  Builder b(out.get(), &rng);
  const uint64_t C = c.n_embd, F = c.dim_ffn, V = c.vocab_size, A = c.kv_a_dim;
  const uint64_t R = c.lora_mix, Rd = c.lora_decay, Rv = c.lora_value2;
  const uint64_t Rq = c.gold_lora_mix, Rk = c.gold_lora_value;
  b.Linear("emb.weight", V, C, dtype, std::sqrt(float(C)));  // rows ~ U(-sqrt3, sqrt3)
  for (size_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "blocks." + std::to_string(l) + ".";
    const float depth = float(l) / float(c.n_layer);
    if (l == 0) b.LayerNorm(p + "ln0", C);
    b.LayerNorm(p + "ln1", C);
    b.LayerNorm(p + "ln2", C);
    const std::string a = p + "att.";
    auto lora = [&](const std::string& w1, const std::string& w2, uint64_t in, uint64_t rank,
                    uint64_t out) {
      b.Matrix(a + w1, in, rank, DType::kF32, 0.5f, in);
      b.Add(a + w2, {rank, out}, DType::kF32, [&](size_t) { return rng.Symmetric(0.1f); });
    };
    if (l < c.first_gold_layer) {
      for (const char* m :
           {"time_maa_x", "time_maa_r", "time_maa_k", "time_maa_v", "time_maa_w", "time_maa_v2"})
        b.Vector(a + m, {1, 1, C}, 0.5f, 0.45f);
      b.Matrix(a + "time_maa_w1", C, 5 * R, DType::kF32, 0.5f, C);
      b.Add(a + "time_maa_w2", {5, R, C}, DType::kF32, [&](size_t) { return rng.Symmetric(0.1f); });
      b.Add(a + "time_decay", {1, 1, C}, DType::kF32, [&](size_t i) {
        return -6.0f + 5.0f * std::pow(float(i) / float(C - 1), 0.7f + 1.3f * depth) +
               rng.Symmetric(0.3f);
      });
      lora("time_decay_w1", "time_decay_w2", C, Rd, C);
      lora("time_value2_w1", "time_value2_w2", C, Rv, C);
      b.Add(a + "time_faaaa", {c.n_head, c.head_size}, DType::kF32,
            [&](size_t) { return rng.Symmetric(0.5f); });
      for (const char* m : {"receptance", "key", "value", "output"})
        b.Linear(a + m + ".weight", C, C, dtype);
    } else {
      for (const char* m :
           {"time_maa_x", "time_maa_q", "time_maa_v_cache", "time_maa_k", "time_maa_v"})
        b.Vector(a + m, {1, 1, C}, 0.5f, 0.45f);
      lora("time_maa_q_w1", "time_maa_q_w2", C, Rq, C);
      b.Matrix(a + "time_maa_kv_w1", C, 2 * Rq, DType::kF32, 0.5f, C);
      b.Add(a + "time_maa_kv_w2", {2, Rq, C}, DType::kF32,
            [&](size_t) { return rng.Symmetric(0.1f); });
      lora("time_key_w1", "time_key_w2", C, Rk, C);
      lora("time_value_w1", "time_value_w2", C, Rk, C);
      b.Linear(a + "query.weight", C, C, dtype);
      b.Linear(a + "output.weight", C, C, dtype);
      for (const char* ln : {"ln_q", "ln_k", "ln_v"}) b.LayerNorm(a + ln, C);
    }
    b.Vector(a + "ln_x.weight", {C}, std::pow((1.0f + float(l)) / float(c.n_layer), 0.7f), 0.1f);
    b.Vector(a + "ln_x.bias", {C}, 0.0f, 0.05f);
    const std::string f = p + "ffn.";
    b.Vector(f + "time_maa_k", {1, 1, C}, 0.5f, 0.45f);
    b.Vector(f + "time_maa_r", {1, 1, C}, 0.5f, 0.45f);
    b.Linear(f + "key.weight", F, C, dtype);
    b.Linear(f + "receptance.weight", C, C, dtype);
    b.Linear(f + "value.weight", C, F, dtype, 0.5f);
  }
  b.LayerNorm("ln_out", C);
  b.Linear("head.weight", V, C, dtype, 0.5f);
  b.Linear("w_kv_cache_a.weight", A, C, dtype);
  b.Linear("w_kv_cache_b.weight", C, C + A, dtype);
  out->tensors.Index();
  return out;
}

}  // namespace floe
