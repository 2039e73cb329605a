// Parity with the official state-spaces/mamba code: ../shared/data/reference/mamba1 holds a
// small random-weight MambaLMHeadModel (model.safetensors, model.pth, config.json), 64 tokens,
// the logits of the official full-sequence forward (slow path, selective_scan_ref) and of the
// official one-token-at-a-time decoding path (Mamba.step), over the padded vocabulary of 256.
// floe loads both files itself and must match every position with any chunk size, and again
// after `floe convert` to llama.cpp's "mamba" GGUF layout.
#include <cstdio>
#include <filesystem>

#include "logits_files.h"
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

constexpr size_t kVocab = 256;
const std::string kDir = "reference/mamba1/";

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

void CheckParity(const Model& m, const std::string& what) {
  CHECK(m.architecture() == "mamba");
  REQUIRE(m.lm().vocab_size() == kVocab);
  const auto tokens = ReadTokens(DataPath(kDir + "tokens.txt"));
  REQUIRE(tokens.size() == 64);
  const auto seq = ReadF32(DataPath(kDir + "logits.f32"));
  const auto step = ReadF32(DataPath(kDir + "step_logits.f32"));
  REQUIRE(seq.size() == 64 * kVocab);
  REQUIRE(step.size() == 64 * kVocab);
  // The whole prompt at once (64), and in chunks of 1, 5 and 16, all logits.
  for (size_t batch : {64, 1, 5, 16}) {
    INFO("chunk size " << batch);
    auto s = NewSession(m, batch);
    REQUIRE(s->Eval(tokens, /*all_logits=*/true).ok());
    const float d = MaxAbsDiff(s->all_logits(), seq);
    std::printf("mamba %s chunk %zu: max |logits - official| = %.3g\n", what.c_str(), batch,
                double(d));
    CHECK(d <= 1e-4f);
  }
  // Token by token against the official recurrent path (Mamba.step).
  auto s = NewSession(m, 64);
  std::vector<float> rows;
  for (int32_t t : tokens) {
    REQUIRE(s->Eval(std::span<const int32_t>(&t, 1)).ok());
    rows.insert(rows.end(), s->logits().begin(), s->logits().end());
  }
  const float d = MaxAbsDiff(rows, step);
  std::printf("mamba %s token by token: max |logits - official step| = %.3g\n", what.c_str(),
              double(d));
  CHECK(d <= 1e-4f);
}

}  // namespace

TEST_CASE("Mamba model.safetensors matches the official logits", "[model]") {
  auto m = Load(DataPath(kDir + "model.safetensors"));
  CHECK(m->format() == ModelFormat::kSafetensors);
  CheckParity(*m, "model.safetensors");
}

TEST_CASE("Mamba model.pth matches the official logits", "[model]") {
  auto m = Load(DataPath(kDir + "model.pth"));
  CHECK(m->format() == ModelFormat::kTorch);
  CheckParity(*m, "model.pth");
}

TEST_CASE("Mamba .pth and .safetensors -> mamba GGUF -> the official logits", "[model]") {
  for (const char* file : {"model.safetensors", "model.pth"}) {
    INFO(file);
    auto source = Load(DataPath(kDir + file));
    const std::string out = floe::testing::TempPath("mamba", "ref.gguf");
    floe::testing::Cleanup cleanup{out};
    const Status st = ConvertModelToGguf(*source, "mamba-ref", out);
    INFO(st.ToString());
    REQUIRE(st.ok());
    auto m = Load(out);
    CHECK(m->format() == ModelFormat::kGguf);
    CheckParity(*m, std::string(file) + " -> GGUF");
  }
}
