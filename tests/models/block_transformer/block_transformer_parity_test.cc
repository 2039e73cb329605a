// Parity with the official Block Transformer code (itsnamgyu/block-transformer):
// ../shared/data/reference/block_transformer holds a small random-weight model (L_B = 4, two
// prefix vectors), 64 tokens, the logits of BlockTransformer.forward() (logits.f32, row r
// predicts tokens[4 + r]) and of the cached block-by-block / token-by-token path
// (step_logits.f32), and the greedy continuation consistent with forward(). floe's row of
// position p predicts token p + 1, so reference row r is floe's row 3 + r.
#include <cstdio>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "logits_files.h"
#include "models/block_transformer/block_transformer_model.h"
#include "platform/base/thread_context.h"
#include "platform/kernels/ops.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"
#include "runtime/tools/convert_model.h"
#include "temp_files.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;
using floe::testing::MaxAbsDiff;
using floe::testing::ReadF32;
using floe::testing::ReadTokens;

namespace {

constexpr size_t kVocab = 512, kBlock = 4, kRows = 60;
const std::string kDir = "reference/block_transformer/";

std::unique_ptr<Session> NewSession(const Model& m, size_t batch) {
  SessionParams p;
  p.batch = batch;
  p.threads = 2;
  auto s = Session::Create(m, p);
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  return std::move(s).value();
}

std::unique_ptr<Model> Load(const std::string& path) {
  auto model = Model::Load(path);
  INFO(model.status().ToString());
  REQUIRE(model.ok());
  return std::move(model).value();
}

// Rows [3, 63) of floe's logits: the 60 rows the reference holds.
std::vector<float> Predicted(const std::vector<float>& all) {
  return std::vector<float>(all.begin() + (kBlock - 1) * kVocab,
                            all.begin() + (kBlock - 1 + kRows) * kVocab);
}

void CheckParity(const Model& m, const std::string& what) {
  CHECK(m.architecture() == "block-transformer");
  REQUIRE(m.lm().vocab_size() == kVocab);
  CHECK(m.lm().first_predicted_position() == kBlock - 1);
  const auto tokens = ReadTokens(DataPath(kDir + "tokens.txt"));
  REQUIRE(tokens.size() == 64);
  const auto seq = ReadF32(DataPath(kDir + "logits.f32"));
  const auto step = ReadF32(DataPath(kDir + "step_logits.f32"));
  REQUIRE(seq.size() == kRows * kVocab);
  REQUIRE(step.size() == kRows * kVocab);
  // The whole prompt at once (64), and in chunks of 1, 3, 5, 7 and 16, all logits.
  for (size_t batch : {64, 1, 3, 5, 7, 16}) {
    INFO("chunk size " << batch);
    auto s = NewSession(m, batch);
    REQUIRE(s->Eval(tokens, /*all_logits=*/true).ok());
    const auto rows = Predicted(s->all_logits());
    const float d = MaxAbsDiff(rows, seq), ds = MaxAbsDiff(rows, step);
    std::printf(
        "block-transformer %s chunk %zu: max |logits - forward| = %.3g, "
        "|logits - step| = %.3g\n",
        what.c_str(), batch, double(d), double(ds));
    CHECK(d <= 1e-4f);
    CHECK(ds <= 1e-4f);
    // The first block predicts nothing: zero rows.
    for (size_t i = 0; i < (kBlock - 1) * kVocab; ++i) REQUIRE(s->all_logits()[i] == 0.0f);
  }
  // Token by token.
  auto s = NewSession(m, 64);
  std::vector<float> rows;
  for (int32_t t : tokens) {
    REQUIRE(s->Eval(std::span<const int32_t>(&t, 1)).ok());
    rows.insert(rows.end(), s->logits().begin(), s->logits().end());
  }
  const auto pr = Predicted(rows);
  const float d = MaxAbsDiff(pr, step), df = MaxAbsDiff(pr, seq);
  std::printf(
      "block-transformer %s token by token: max |logits - step| = %.3g, "
      "|logits - forward| = %.3g\n",
      what.c_str(), double(d), double(df));
  CHECK(d <= 1e-4f);
  CHECK(df <= 1e-4f);
  // Greedy: 16 tokens after the prompt, each the argmax of the logits so far.
  const auto want = ReadTokens(DataPath(kDir + "greedy_forward_consistent_tokens.txt"));
  REQUIRE(want.size() == 16);
  std::vector<int32_t> got;
  for (size_t i = 0; i < 16; ++i) {
    const int32_t next = int32_t(Argmax(s->logits().data(), kVocab));
    got.push_back(next);
    REQUIRE(s->Eval(std::span<const int32_t>(&next, 1)).ok());
  }
  CHECK(got == want);
}

}  // namespace

TEST_CASE("Block Transformer model.safetensors matches the official logits", "[model]") {
  auto m = Load(DataPath(kDir + "model.safetensors"));
  CHECK(m->format() == ModelFormat::kSafetensors);
  CheckParity(*m, "model.safetensors");
}

TEST_CASE("Block Transformer model.safetensors -> GGUF -> the official logits", "[model]") {
  auto source = Load(DataPath(kDir + "model.safetensors"));
  const std::string out = floe::testing::TempPath("block_transformer", "ref.gguf");
  floe::testing::Cleanup cleanup{out};
  const Status st = ConvertModelToGguf(*source, "block-transformer-ref", out);
  INFO(st.ToString());
  REQUIRE(st.ok());
  auto m = Load(out);
  CHECK(m->format() == ModelFormat::kGguf);
  CheckParity(*m, "GGUF");
}

TEST_CASE("Block Transformer batched decode (Session::EvalBatch) matches the official logits",
          "[model]") {
  auto m = Load(DataPath(kDir + "model.safetensors"));
  const auto tokens = ReadTokens(DataPath(kDir + "tokens.txt"));
  const auto step = ReadF32(DataPath(kDir + "step_logits.f32"));
  REQUIRE(step.size() == kRows * kVocab);
  // Sessions at every phase of a block, then 20 steps decoded together (floe_eval_batch's
  // path): the block decoder runs for the sequences whose block completes.
  const std::vector<size_t> starts = {1, 4, 5, 6, 7, 10, 13, 19};
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<Session*> ptrs;
  for (size_t k : starts) {
    sessions.push_back(NewSession(*m, 64));
    REQUIRE(sessions.back()->Eval(std::span<const int32_t>(tokens.data(), k)).ok());
    ptrs.push_back(sessions.back().get());
  }
  ThreadContext threads(2);
  float worst = 0.0f;
  for (size_t t = 0; t < 20; ++t) {
    std::vector<int32_t> next;
    for (size_t k : starts) next.push_back(tokens[k + t]);
    const Status st = Session::EvalBatch(ptrs, next, threads);
    INFO(st.ToString());
    REQUIRE(st.ok());
    for (size_t i = 0; i < starts.size(); ++i) {
      const size_t pos = starts[i] + t;  // its row predicts token pos + 1: reference row pos - 3
      if (pos < kBlock - 1) continue;
      const std::vector<float> want(step.begin() + (pos - 3) * kVocab,
                                    step.begin() + (pos - 2) * kVocab);
      worst = std::max(worst, MaxAbsDiff(sessions[i]->logits(), want));
    }
  }
  std::printf("block-transformer batched decode: max |logits - step| = %.3g\n", double(worst));
  CHECK(worst <= 1e-4f);
}

TEST_CASE("Block Transformer memory budget: the block rows a sequence holds, not the "
          "preallocation", "[model]") {
  auto m = Load(DataPath(kDir + "model.safetensors"));
  // config.json: block_length 4, expansion_ratio 2, block decoder 2 layers of hidden 64 (one
  // K + V row of 64 f32 per layer per block), token decoder 2 layers of hidden 64.
  constexpr size_t kPerBlock = 2 * 2 * 64 * 4, kLocalRow = 2 * 2 * 64 * 4;
  StateOptions o;
  o.context_length = 2048;
  auto s = m->lm().NewState(o);
  REQUIRE(s.ok());
  const SequenceState& st = **s;
  CHECK(st.memory_bytes_at(1200) - st.memory_bytes_at(400) == 200 * kPerBlock);
  // The local cache: none in the first block, then 2 prefix rows and up to 3 tokens' rows.
  CHECK(st.memory_bytes_at(4) - st.memory_bytes_at(3) == kPerBlock + 2 * kLocalRow);
  CHECK(st.memory_bytes_at(7) - st.memory_bytes_at(4) == 3 * kLocalRow);
  // 2048 / 4 + 1 blocks are preallocated; an empty state holds none of them.
  CHECK(st.memory_bytes() - st.memory_bytes_at(0) >= 513 * kPerBlock);

  // A budget of an empty state plus 100 blocks: created (the preallocation is over it), and
  // evals are admitted and refused by the blocks they fill.
  SessionParams p;
  p.threads = 1;
  p.context_length = 2048;
  p.memory_budget = st.memory_bytes_at(0) + 5 * kLocalRow + 100 * kPerBlock;
  REQUIRE(p.memory_budget < st.memory_bytes());
  auto b = Session::Create(*m, p);
  INFO(b.status().ToString());
  REQUIRE(b.ok());
  Session& session = **b;
  std::vector<int32_t> tokens(800);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t((i * 7919 + 13) % 512);
  CHECK(session.Eval(std::span<const int32_t>(tokens).first(600)).code() ==
        StatusCode::kOutOfMemory);
  CHECK(session.position() == 0);
  REQUIRE(session.Eval(std::span<const int32_t>(tokens).first(396)).ok());
  REQUIRE(session.Eval(std::span<const int32_t>(tokens).subspan(396, 7)).ok());  // block 100
  CHECK(session.Eval(std::span<const int32_t>(tokens).subspan(403, 1)).code() ==
        StatusCode::kOutOfMemory);  // the 101st block
  CHECK(session.position() == 403);
}
