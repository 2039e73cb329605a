#include "models/rwkv6/rwkv6_random.h"

#include <cmath>
#include <cstring>
#include <string>

#include "models/random_tensors.h"

namespace floe {

namespace {

class Builder {
 public:
  Builder(RandomRwkv6* out, SplitMix64* rng) : out_(out), rng_(rng) {}

  // A tensor of the given PyTorch shape filled by gen(flat index) and stored as dtype.
  template <class Gen>
  void Add(const std::string& name, std::vector<uint64_t> shape, DType dtype, Gen gen) {
    AppendGeneratedTensor(&out_->tensors, &out_->storage, name, std::move(shape), dtype, gen);
  }

  // Uniform in [-a, a), the scale of a unit-gain init for `fan_in` inputs.
  void Matrix(const std::string& name, uint64_t rows, uint64_t cols, DType dtype,
              float gain = 1.0f) {
    const float a = gain * std::sqrt(3.0f / float(cols));
    Add(name, {rows, cols}, dtype, [&](size_t) { return rng_->Symmetric(a); });
  }
  void Vector(const std::string& name, std::vector<uint64_t> shape, float center, float spread) {
    Add(name, std::move(shape), DType::kF32,
        [&](size_t) { return center + rng_->Symmetric(spread); });
  }

 private:
  RandomRwkv6* out_;
  SplitMix64* rng_;
};

}  // namespace

Result<std::unique_ptr<RandomRwkv6>> MakeRandomRwkv6(Rwkv6Config c, uint64_t seed, DType dtype) {
  if (c.head_size == 0 || c.n_embd % c.head_size != 0)
    return InvalidArgument("random RWKV-6: n_embd must be a multiple of head_size");
  c.n_head = c.n_embd / c.head_size;
  FLOE_RETURN_IF_ERROR(c.Validate());
  auto out = std::make_unique<RandomRwkv6>();
  SplitMix64 rng(seed);
  Builder b(out.get(), &rng);
  const uint64_t C = c.n_embd, F = c.dim_ffn, R = c.lora_mix, Rd = c.lora_decay, V = c.vocab_size;
  b.Matrix("emb.weight", V, C, dtype, std::sqrt(float(C)));  // rows ~ U(-sqrt3, sqrt3): LN0 follows
  for (size_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "blocks." + std::to_string(l) + ".";
    const float depth = float(l) / float(c.n_layer);
    if (l == 0) {
      b.Vector(p + "ln0.weight", {C}, 1.0f, 0.1f);
      b.Vector(p + "ln0.bias", {C}, 0.0f, 0.05f);
    }
    for (const char* ln : {"ln1", "ln2"}) {
      b.Vector(p + ln + ".weight", {C}, 1.0f, 0.1f);
      b.Vector(p + ln + ".bias", {C}, 0.0f, 0.05f);
    }
    const std::string a = p + "att.";
    for (const char* m :
         {"time_maa_x", "time_maa_w", "time_maa_k", "time_maa_v", "time_maa_r", "time_maa_g"})
      b.Vector(a + m, {1, 1, C}, 0.5f, 0.45f);
    b.Matrix(a + "time_maa_w1", C, 5 * R, DType::kF32, 0.5f);
    b.Add(a + "time_maa_w2", {5, R, C}, DType::kF32, [&](size_t) { return rng.Symmetric(0.1f); });
    // Decays from fast (-6 + ...: w near 1 is slow; here time_decay spans about -6..1).
    b.Add(a + "time_decay", {1, 1, C}, DType::kF32, [&](size_t i) {
      return -6.0f + 7.0f * std::pow(float(i) / float(C - 1 ? C - 1 : 1), 0.7f + 1.3f * depth) +
             rng.Symmetric(0.3f);
    });
    b.Matrix(a + "time_decay_w1", C, Rd, DType::kF32, 0.5f);
    b.Add(a + "time_decay_w2", {Rd, C}, DType::kF32, [&](size_t) { return rng.Symmetric(0.1f); });
    b.Add(a + "time_faaaa", {c.n_head, c.head_size}, DType::kF32,
          [&](size_t) { return rng.Symmetric(1.0f); });
    for (const char* m : {"receptance", "key", "value", "gate", "output"})
      b.Matrix(a + m + ".weight", C, C, dtype, std::string(m) == "key" ? 0.5f : 1.0f);
    b.Vector(a + "ln_x.weight", {C}, std::pow((1.0f + float(l)) / float(c.n_layer), 0.7f), 0.1f);
    b.Vector(a + "ln_x.bias", {C}, 0.0f, 0.05f);
    const std::string f = p + "ffn.";
    b.Vector(f + "time_maa_k", {1, 1, C}, 0.5f, 0.45f);
    b.Vector(f + "time_maa_r", {1, 1, C}, 0.5f, 0.45f);
    b.Matrix(f + "key.weight", F, C, dtype);
    b.Matrix(f + "receptance.weight", C, C, dtype);
    b.Matrix(f + "value.weight", C, F, dtype, 0.5f);
  }
  b.Vector("ln_out.weight", {C}, 1.0f, 0.1f);
  b.Vector("ln_out.bias", {C}, 0.0f, 0.05f);
  b.Matrix("head.weight", V, C, dtype, 0.5f);
  return out;
}

}  // namespace floe
