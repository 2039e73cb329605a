// Block Transformer on random models: chunked prefill equals token-by-token decode, the local
// cache never exceeds P + L_B positions and the block cache grows by one entry per L_B tokens,
// batched decode (ForwardEach) equals one sequence at a time, save / restore / clone continue
// the same run, the GGUF layout round-trips, presets have the paper's shapes.
#include <vector>

#include "block_transformer_test_util.h"
#include "models/block_transformer/block_transformer_gguf.h"
#include "platform/base/model_collector.h"

using namespace floe;
using namespace floe::bt_test;

TEST_CASE("Block Transformer chunked prefill equals token-by-token decode", "[unit]") {
  for (size_t block : {1, 3, 4}) {
    INFO("block length " << block);
    const BlockTransformerConfig c = Small(block);
    const Fixture f = Build(c, 5);
    const auto tokens = Tokens(41, c.vocab_size, 9);
    const auto step = RunChunked(*f.model, tokens, 1);
    for (float v : step) REQUIRE(std::isfinite(v));
    for (size_t i = 0; i < (block - 1) * c.vocab_size; ++i) REQUIRE(step[i] == 0.0f);
    for (size_t batch : {2, 3, 5, 8, 41}) {
      INFO("chunk " << batch);
      CHECK(MaxAbs(RunChunked(*f.model, tokens, batch), step) <= 1e-5f);
    }
    // Prompts read without per-token logits (the block-decoder-only prefill path) give the
    // same last row and the same continuation.
    ThreadContext threads(2);
    const size_t V = c.vocab_size;
    for (size_t n = 1; n + 1 < tokens.size(); n += 3) {
      INFO("prompt " << n);
      auto s = f.model->NewState({});
      REQUIRE(s.ok());
      std::vector<float> row(V);
      REQUIRE(f.model
                  ->Forward(**s, std::span<const int32_t>(tokens.data(), n), LogitsMode::kLast,
                            row.data(), threads, nullptr)
                  .ok());
      CHECK(MaxAbs(row, std::span<const float>(step).subspan((n - 1) * V, V)) <= 1e-5f);
      REQUIRE(f.model
                  ->Forward(**s, std::span<const int32_t>(tokens.data() + n, 1), LogitsMode::kLast,
                            row.data(), threads, nullptr)
                  .ok());
      CHECK(MaxAbs(row, std::span<const float>(step).subspan(n * V, V)) <= 1e-5f);
      auto local = f.model->LocalCacheLength(**s);
      REQUIRE(local.ok());
      CHECK(*local == (n + 1 < block ? 0 : c.expansion_ratio + (n + 1) % block));
    }
  }
}

TEST_CASE("Block Transformer caches: local <= P + L_B, one block entry per L_B tokens", "[unit]") {
  const BlockTransformerConfig c = Small(4);
  const Fixture f = Build(c, 7);
  const size_t L = c.block_length, P = c.expansion_ratio;
  const auto tokens = Tokens(50, c.vocab_size, 3);
  ThreadContext threads(1);
  for (size_t batch : {1, 3, 50}) {
    StateOptions o;
    o.max_batch = batch;
    auto s = f.model->NewState(o);
    REQUIRE(s.ok());
    std::vector<float> logits(c.vocab_size);
    size_t max_local = 0;
    for (size_t i = 0; i < tokens.size(); i += batch) {
      const size_t n = std::min(batch, tokens.size() - i);
      REQUIRE(f.model
                  ->Forward(**s, std::span<const int32_t>(tokens.data() + i, n), LogitsMode::kLast,
                            logits.data(), threads, nullptr)
                  .ok());
      const size_t pos = (*s)->position();
      auto local = f.model->LocalCacheLength(**s);
      auto blocks = f.model->BlockCacheLength(**s);
      REQUIRE(local.ok());
      REQUIRE(blocks.ok());
      CHECK(*blocks == pos / L);
      CHECK(*local <= P + L);
      CHECK(*local == (pos < L ? 0 : P + pos % L));
      max_local = std::max(max_local, *local);
    }
    if (batch == 1) CHECK(max_local == P + L - 1);
  }
}

TEST_CASE("Block Transformer ForwardEach equals one sequence at a time", "[unit]") {
  const BlockTransformerConfig c = Small(4);
  const Fixture f = Build(c, 11);
  const size_t V = c.vocab_size;
  ThreadContext threads(2);
  // Sequences at every phase of a block (prompt lengths 0..9), decoded together for 9 steps.
  const size_t B = 10, steps = 9;
  std::vector<std::unique_ptr<SequenceState>> batched, single;
  std::vector<std::vector<int32_t>> streams;
  std::vector<float> logits(V);
  for (size_t i = 0; i < B; ++i) {
    streams.push_back(Tokens(i + steps, V, uint32_t(100 + i)));
    for (auto* v : {&batched, &single}) {
      auto s = f.model->NewState({});
      REQUIRE(s.ok());
      if (i > 0)
        REQUIRE(f.model
                    ->Forward(**s, std::span<const int32_t>(streams[i].data(), i),
                              LogitsMode::kLast, logits.data(), threads, nullptr)
                    .ok());
      v->push_back(std::move(s).value());
    }
  }
  std::vector<float> got(B * V), want(B * V);
  for (size_t t = 0; t < steps; ++t) {
    std::vector<SequenceState*> ptrs;
    std::vector<int32_t> toks;
    for (size_t i = 0; i < B; ++i) {
      ptrs.push_back(batched[i].get());
      toks.push_back(streams[i][i + t]);
      REQUIRE(f.model
                  ->Forward(*single[i], std::span<const int32_t>(&toks.back(), 1),
                            LogitsMode::kLast, want.data() + i * V, threads, nullptr)
                  .ok());
    }
    REQUIRE(f.model->ForwardEach(ptrs, toks, got.data(), threads, nullptr).ok());
    INFO("step " << t);
    CHECK(MaxAbs(got, want) <= 1e-5f);
    for (size_t i = 0; i < B; ++i) {
      CHECK(batched[i]->position() == single[i]->position());
      auto lb = f.model->LocalCacheLength(*batched[i]);
      auto ls = f.model->LocalCacheLength(*single[i]);
      REQUIRE(lb.ok());
      REQUIRE(ls.ok());
      CHECK(lb.value() == ls.value());
    }
  }
}

TEST_CASE("Block Transformer save -> restore -> continue and clone equal the run", "[unit]") {
  const BlockTransformerConfig c = Small(4);
  const Fixture f = Build(c, 13);
  const size_t V = c.vocab_size;
  ThreadContext threads(1);
  const auto tokens = Tokens(30, V, 17);
  for (size_t cut : {2, 4, 7, 13}) {
    INFO("cut " << cut);
    auto a = f.model->NewState({});
    REQUIRE(a.ok());
    std::vector<float> la(V * tokens.size()), lb(V * tokens.size()), lc(V * tokens.size());
    std::span<const int32_t> head(tokens.data(), cut), tail(tokens.data() + cut, 30 - cut);
    REQUIRE(f.model->Forward(**a, head, LogitsMode::kLast, la.data(), threads, nullptr).ok());
    std::vector<uint8_t> bytes;
    REQUIRE((*a)->Save(&bytes).ok());
    auto clone = (*a)->Clone();
    REQUIRE(clone.ok());
    auto b = f.model->NewState({});
    REQUIRE(b.ok());
    REQUIRE((*b)->Restore(bytes).ok());
    CHECK((*b)->position() == cut);
    REQUIRE(f.model->Forward(**a, tail, LogitsMode::kAll, la.data(), threads, nullptr).ok());
    REQUIRE(f.model->Forward(**b, tail, LogitsMode::kAll, lb.data(), threads, nullptr).ok());
    REQUIRE(f.model->Forward(**clone, tail, LogitsMode::kAll, lc.data(), threads, nullptr).ok());
    CHECK(MaxAbs(la, lb) == 0.0f);
    CHECK(MaxAbs(la, lc) == 0.0f);
    // Truncated bytes are an error and leave the state as it was.
    const size_t pos = (*b)->position();
    CHECK_FALSE((*b)->Restore(std::span<const uint8_t>(bytes.data(), bytes.size() - 1)).ok());
    CHECK((*b)->position() == pos);
  }
}

TEST_CASE("Block Transformer GGUF layout round-trips, f32 and f16", "[unit]") {
  for (DType type : {DType::kF32, DType::kF16}) {
    INFO(DTypeName(type));
    const BlockTransformerConfig c = Small(4);
    const Fixture f = Build(c, 3, type);
    ModelCollector out("collector");
    REQUIRE(WriteBlockTransformerGguf(c, f.model->weights(), out).ok());
    const TensorSet& set = out.tensors();
    REQUIRE(set.Find("td.blk.2.attn_qkv.weight") != nullptr);
    REQUIRE(set.Find("bd.blk.1.ffn_down.bias") != nullptr);
    auto net = BlockTransformerFromGguf(out.metadata(), set);
    INFO(net.status().ToString());
    REQUIRE(net.ok());
    auto back = BlockTransformerModel::Create(std::move(net).value());
    REQUIRE(back.ok());
    const auto tokens = Tokens(23, c.vocab_size, 1);
    CHECK(MaxAbs(RunChunked(**back, tokens, 6), RunChunked(*f.model, tokens, 6)) == 0.0f);
  }
}

TEST_CASE("Block Transformer presets have the b4 shapes", "[unit]") {
  auto s = BlockTransformerPresetShape("b4-300m");
  REQUIRE(s.ok());
  CHECK(s->block_length == 4);
  CHECK(s->embedder_dim == 256);
  CHECK(s->block.hidden == 1024);
  CHECK(s->block.layers == 12);
  CHECK(s->token.layers == 12);
  CHECK(s->expansion_ratio == 2);
  // Non-embedding parameters of both decoders: 2 x 12 x 12 D^2 (+ biases, norms) ~ 302M.
  const double D = 1024;
  CHECK(2 * 12 * 12 * D * D == Approx(302e6).epsilon(0.01));
  CHECK_FALSE(BlockTransformerPresetShape("b4-7b").ok());
  auto tiny = BlockTransformerPresetShape("tiny");
  REQUIRE(tiny.ok());
  const Fixture f = Build(*tiny, 1);
  CHECK(f.model->first_predicted_position() == 3);
}
