// Shared by the Block Transformer unit tests: a small random model, token streams, runners.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include "models/block_transformer/block_transformer_model.h"
#include "models/block_transformer/block_transformer_random.h"

namespace floe::bt_test {

// L_B 4 (or `block`), P 3, widths 32 (lookup 8) / 24, 2 + 3 layers.
inline BlockTransformerConfig Small(size_t block = 4) {
  BlockTransformerConfig c;
  c.vocab_size = 96;
  c.block_length = block;
  c.embedder_dim = 8;
  c.expansion_ratio = 3;
  c.context_length = 512;
  c.block = {8 * block, 2, 2, 64, 4, 10000.0f, 1e-5f};
  c.token = {24, 3, 3, 48, 4, 10000.0f, 1e-5f};
  return c;
}

struct Fixture {
  std::unique_ptr<RandomBlockTransformer> random;
  std::unique_ptr<BlockTransformerModel> model;
};

inline Fixture Build(const BlockTransformerConfig& c, uint64_t seed, DType type = DType::kF32) {
  Fixture f;
  auto r = MakeRandomBlockTransformer(c, seed, type);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  f.random = std::move(r).value();
  auto net = BindBlockTransformer(c, f.random->tensors);
  INFO(net.status().ToString());
  REQUIRE(net.ok());
  auto m = BlockTransformerModel::Create(std::move(net).value());
  REQUIRE(m.ok());
  f.model = std::move(m).value();
  return f;
}

inline std::vector<int32_t> Tokens(size_t n, size_t vocab, uint32_t seed) {
  std::vector<int32_t> t(n);
  uint32_t x = seed;
  for (auto& e : t) {
    x = x * 1664525u + 1013904223u;
    e = int32_t((x >> 8) % vocab);
  }
  return t;
}

inline std::vector<float> RunChunked(const CausalLm& lm, const std::vector<int32_t>& tokens,
                                     size_t batch) {
  ThreadContext threads(2);
  StateOptions o;
  o.max_batch = batch;
  auto s = lm.NewState(o);
  REQUIRE(s.ok());
  std::vector<float> logits(tokens.size() * lm.vocab_size());
  REQUIRE(lm.Forward(**s, tokens, LogitsMode::kAll, logits.data(), threads, nullptr).ok());
  CHECK((*s)->position() == tokens.size());
  return logits;
}

inline float MaxAbs(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace floe::bt_test
