// TransNormerLLM through floe's "transnormer" GGUF: the official checkpoint converted by
// ConvertModelToGguf (floe convert) on the official checkpoint loads back and reproduces the
// official code's logits; a file whose keys are inconsistent is a clear error.
#include <filesystem>

#include "logits_files.h"
#include "logits_near.h"
#include "platform/kernels/ops.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/tools/convert_model.h"
#include "runtime/tools/quantize.h"
#include "runtime/formats/gguf/gguf_writer.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;

namespace {

std::string TempGguf(const char* stem) {
  return (std::filesystem::temp_directory_path() /
          (std::string(stem) + "-" + std::to_string(::getpid()) + ".gguf"))
      .string();
}

// floe convert's path: load the checkpoint (config.json beside it), write it as GGUF.
Status ConvertCheckpoint(const std::string& checkpoint, const std::string& out) {
  auto m = Model::Load(checkpoint);
  if (!m.ok()) return m.status();
  return ConvertModelToGguf(**m, "tnl", out);
}

}  // namespace

TEST_CASE("TransNormerLLM: official checkpoint -> transnormer GGUF -> the official logits",
          "[model]") {
  const auto tokens = floe::testing::ReadTokens(DataPath("reference/transnormer/tokens.txt"));
  const auto expected = floe::testing::ReadF32(DataPath("reference/transnormer/logits.f32"));
  for (const char* source :
       {"reference/transnormer/model.safetensors", "reference/transnormer/pytorch_model.bin"}) {
    INFO(source);
    const std::string out = TempGguf("floe-tnl");
    Status st = ConvertCheckpoint(DataPath(source), out);
    INFO(st.ToString());
    REQUIRE(st.ok());
    auto m = Model::Load(out);
    INFO(m.status().ToString());
    REQUIRE(m.ok());
    CHECK((*m)->format() == ModelFormat::kGguf);
    CHECK((*m)->architecture() == "transnormer");
    SessionParams p;
    p.batch = 16;
    auto s = Session::Create(**m, p);
    REQUIRE(s.ok());
    REQUIRE((*s)->Eval(tokens, true).ok());
    CHECK(floe::testing::MaxAbsDiff((*s)->all_logits(), expected) <= 1e-4f);
    std::filesystem::remove(out);
  }
}

TEST_CASE("transnormer GGUF with inconsistent keys is a clear error", "[model]") {
  const std::string good = TempGguf("floe-tnl-good");
  REQUIRE(ConvertCheckpoint(DataPath("reference/transnormer/model.safetensors"), good).ok());
  auto f = GgufFile::Open(good);
  REQUIRE(f.ok());
  auto rewrite = [&](const std::string& key, GgufValue v) {
    GgufWriter w;
    for (const auto& [k, value] : f->metadata()) w.SetValue(k, k == key ? v : value);
    for (const auto& t : f->tensors())
      REQUIRE(w.AddTensor(t.name, t.ne, t.type, t.data, t.nbytes).ok());
    const std::string path = TempGguf("floe-tnl-bad");
    REQUIRE(w.WriteFile(path).ok());
    auto m = Model::Load(path);
    std::filesystem::remove(path);
    REQUIRE_FALSE(m.ok());
    return m.status().ToString();
  };
  GgufValue act;
  act.type = GgufType::kString;
  act.s = "gelu";
  CHECK_THAT(rewrite("transnormer.linear_act_fun", act), Catch::Contains("gelu"));
  GgufValue heads;
  heads.type = GgufType::kUint32;
  heads.u = 5;  // does not divide hidden_dim 64
  CHECK_THAT(rewrite("transnormer.attention.head_count", heads), Catch::Contains("head"));
  std::filesystem::remove(good);
}

// Quantized TransNormerLLM (issue 28): the official checkpoint's GGUF through `floe quantize`.
// The projections and the embeddings whose rows are a multiple of 32 become q8_0 / q5_0 (l3's
// rows are glu_dim = 176: it stays f32, as theta), the file loads, and its logits stay near the
// official code's. This small model is sensitive to its weights' rounding alone: in a session
// (2026-12-07) the dequantized q8_0 weights run in f32 moved the logits by max 0.126 (mean KL
// 2.6e-4), q5_0's by 1.87 (1.8e-2); the quantized model (8-bit activations too) gave q8_0 max
// 0.167, mean KL 3.8e-4, top-1 59/64 and q5_0 max 1.83, mean KL 1.8e-2, top-1 40/64. The
// bounds are about twice those.
TEST_CASE("TransNormerLLM GGUF -> floe quantize -> near the official logits", "[model]") {
  // Repacked: qkvu, out, l1, l2 of 3 layers (l3 stays f32) and the untied lm_head.
  constexpr size_t kPanelMatrices = 3 * 4 + 1;
  const auto tokens = floe::testing::ReadTokens(DataPath("reference/transnormer/tokens.txt"));
  const auto expected = floe::testing::ReadF32(DataPath("reference/transnormer/logits.f32"));
  const std::string gguf = TempGguf("floe-tnl-q");
  REQUIRE(ConvertCheckpoint(DataPath("reference/transnormer/model.safetensors"), gguf).ok());
  struct Case {
    DType type;
    floe::testing::LogitsBounds bounds;
  };
  for (const Case& c :
       {Case{DType::kQ8_0, {0.35, 8e-4, 0.85}}, Case{DType::kQ5_0, {4.0, 0.04, 0.5}}}) {
    INFO(DTypeName(c.type));
    const std::string out = gguf + "." + DTypeName(c.type) + ".gguf";
    REQUIRE(QuantizeGguf(gguf, out, c.type).ok());
    {
      auto f = GgufFile::Open(out);
      REQUIRE(f.ok());
      for (const GgufTensorInfo& t : f->tensors()) {
        INFO(t.name);
        if (t.name.find(".weight") != std::string::npos && t.ne.size() == 2)
          CHECK(t.type == (t.ne[0] % 32 == 0 ? uint32_t(c.type) : 0u));
        if (t.name.find("theta") != std::string::npos) CHECK(t.type == 0);
      }
    }
    // Kept as in the file, and as loaded by default: Q8_0's projections repacked into 16-row
    // panels where the CPU has the panel kernels (Q5_0 has none).
    for (bool repack : {false, true}) {
      INFO((repack ? "repacked" : "rows"));
      LoadOptions options;
      options.repack_weights = repack;
      auto m = Model::Load(out, options);
      INFO(m.status().ToString());
      REQUIRE(m.ok());
      const bool panels = repack && c.type == DType::kQ8_0 && RowPanelKernelsPreferred();
      CHECK((*m)->repacked().matrices() == (panels ? kPanelMatrices : 0u));
      SessionParams p;
      p.batch = 16;
      auto s = Session::Create(**m, p);
      REQUIRE(s.ok());
      REQUIRE((*s)->Eval(tokens, true).ok());
      const size_t vocab = (*s)->all_logits().size() / tokens.size();
      floe::testing::CheckLogitsNear(expected, (*s)->all_logits(), vocab, c.bounds);
    }
    std::filesystem::remove(out);
  }
  std::filesystem::remove(gguf);
}
