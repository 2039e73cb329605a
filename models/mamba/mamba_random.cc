#include "models/mamba/mamba_random.h"

#include <cmath>
#include <cstring>
#include <string>

#include "models/random_tensors.h"
#include "platform/quant/quant.h"

namespace floe {

namespace {

// A matrix generated in F32 and stored quantized (rows of whole blocks).
template <class Gen>
void AddQuantized(RandomMamba* out, const std::string& name, uint64_t rows, uint64_t cols,
                  DType dtype, Gen gen) {
  NamedTensor t;
  t.name = name;
  t.dtype = dtype;
  t.shape = {rows, cols};
  const size_t row_bytes = DTypeBytes(dtype, cols);
  t.bytes = rows * row_bytes;
  out->storage.emplace_back(new uint8_t[t.bytes]);
  uint8_t* p = out->storage.back().get();
  std::vector<float> row(cols);
  for (uint64_t r = 0; r < rows; ++r) {
    for (uint64_t c = 0; c < cols; ++c) row[c] = gen(r * cols + c);
    if (dtype == DType::kQ8_0)
      QuantizeRowQ8_0(row.data(), cols, reinterpret_cast<BlockQ8_0*>(p + r * row_bytes));
    else
      QuantizeRowQ4_0(row.data(), cols, reinterpret_cast<BlockQ4_0*>(p + r * row_bytes));
  }
  t.data = p;
  out->tensors.tensors.push_back(std::move(t));
}

}  // namespace

Result<std::unique_ptr<RandomMamba>> MakeRandomMamba(const MambaConfig& c, uint64_t seed,
                                                     DType dtype) {
  FLOE_RETURN_IF_ERROR(c.Validate());
  const bool quantized = dtype == DType::kQ8_0 || dtype == DType::kQ4_0;
  if (dtype != DType::kF32 && dtype != DType::kF16 && dtype != DType::kBF16 && !quantized)
    return InvalidArgument("random Mamba: dtype must be f32, f16, bf16, q8_0 or q4_0");
  if (quantized && (c.d_model % 32 != 0 || c.d_inner % 32 != 0))
    return InvalidArgument("random Mamba: q8_0 / q4_0 need d_model and d_inner multiples of 32");
  auto out = std::make_unique<RandomMamba>();
  out->config = c;
  SplitMix64 rng(seed);
  const uint64_t V = c.vocab_size, D = c.d_model, Di = c.d_inner, N = c.d_state, K = c.d_conv,
                 R = c.dt_rank;
  auto add = [&](const std::string& name, std::vector<uint64_t> shape, DType type, auto gen) {
    AppendGeneratedTensor(&out->tensors, &out->storage, name, std::move(shape), type, gen);
  };
  auto matrix = [&](const std::string& name, uint64_t rows, uint64_t cols, float bound) {
    auto gen = [&](size_t) { return rng.Symmetric(bound); };
    if (quantized)
      AddQuantized(out.get(), name, rows, cols, dtype, gen);
    else
      add(name, {rows, cols}, dtype, gen);
  };
  auto ones = [](size_t) { return 1.0f; };
  matrix("backbone.embedding.weight", V, D, 0.1f);
  for (size_t l = 0; l < c.n_layer; ++l) {
    const std::string p = "backbone.layers." + std::to_string(l) + ".";
    const std::string m = p + "mixer.";
    add(p + "norm.weight", {D}, DType::kF32, ones);
    matrix(m + "in_proj.weight", 2 * Di, D, 1.0f / std::sqrt(float(D)));
    const float kb = 1.0f / std::sqrt(float(K));  // nn.Conv1d's default, fan_in = K
    add(m + "conv1d.weight", {Di, 1, K}, DType::kF32, [&](size_t) { return rng.Symmetric(kb); });
    add(m + "conv1d.bias", {Di}, DType::kF32, [&](size_t) { return rng.Symmetric(kb); });
    matrix(m + "x_proj.weight", R + 2 * N, Di, 1.0f / std::sqrt(float(Di)));
    const float rb = 1.0f / std::sqrt(float(R));
    add(m + "dt_proj.weight", {Di, R}, DType::kF32, [&](size_t) { return rng.Symmetric(rb); });
    add(m + "dt_proj.bias", {Di}, DType::kF32, [&](size_t) {
      // dt = exp(U(log 0.001, log 0.1)) >= 1e-4; bias = dt + log(-expm1(-dt)).
      const double lo = std::log(0.001), hi = std::log(0.1);
      const double dt = std::max(1e-4, std::exp(lo + double(rng.Uniform()) * (hi - lo)));
      return float(dt + std::log(-std::expm1(-dt)));
    });
    add(m + "A_log", {Di, N}, DType::kF32, [&](size_t i) { return std::log(float(i % N + 1)); });
    add(m + "D", {Di}, DType::kF32, ones);
    matrix(m + "out_proj.weight", D, Di, 1.0f / std::sqrt(float(Di)) / std::sqrt(float(c.n_layer)));
  }
  add("backbone.norm_f.weight", {D}, DType::kF32, ones);
  if (!c.tie_embeddings) matrix("lm_head.weight", V, D, 0.1f);
  out->tensors.Index();
  return out;
}

}  // namespace floe
