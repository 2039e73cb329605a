// Parity with the official RWKV-6 code: ../shared/data/reference/rwkv6 holds a random-weight
// checkpoint saved by torch.save in BlinkDL's format, 64 tokens, and the logits ChatRWKV's
// package computed at every position (sequence mode) and its RNN demo (one token at a time).
// floe loads the .pth itself (zip + pickle, no Python) and must match every position.
#include <cmath>
#include <fstream>

#include "runtime/engine/model.h"
#include "runtime/engine/session.h"
#include "logits_files.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;
using floe::testing::MaxAbsDiff;
using floe::testing::ReadF32;
using floe::testing::ReadTokens;

namespace {}  // namespace

TEST_CASE("RWKV-6 official checkpoint (.pth) matches the official logits at every position",
          "[model]") {
  auto model = Model::Load(DataPath("reference/rwkv6/model.pth"));
  INFO(model.status().ToString());
  REQUIRE(model.ok());
  CHECK((*model)->format() == ModelFormat::kTorch);
  CHECK((*model)->architecture() == "rwkv6");
  const auto tokens = ReadTokens(DataPath("reference/rwkv6/tokens.txt"));
  REQUIRE(tokens.size() == 64);
  const auto seq = ReadF32(DataPath("reference/rwkv6/logits.f32"));
  const auto step = ReadF32(DataPath("reference/rwkv6/step_logits.f32"));
  REQUIRE(seq.size() == 64 * 256);
  REQUIRE(step.size() == 64 * 256);
  for (size_t batch : {1, 5, 16, 64}) {
    INFO("chunk size " << batch);
    SessionParams p;
    p.batch = batch;
    auto s = Session::Create(**model, p);
    REQUIRE(s.ok());
    REQUIRE((*s)->Eval(tokens, /*all_logits=*/true).ok());
    CHECK(MaxAbsDiff((*s)->all_logits(), seq) <= 1e-4f);
    CHECK(MaxAbsDiff((*s)->all_logits(), step) <= 1e-4f);
  }
  // Token by token (decode path).
  auto s = Session::Create(**model, {});
  REQUIRE(s.ok());
  std::vector<float> rows;
  for (int32_t t : tokens) {
    REQUIRE((*s)->Eval(std::span<const int32_t>(&t, 1)).ok());
    rows.insert(rows.end(), (*s)->logits().begin(), (*s)->logits().end());
  }
  CHECK(MaxAbsDiff(rows, step) <= 1e-4f);
}
