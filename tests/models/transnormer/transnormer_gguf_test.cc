// TransNormerLLM through floe's "transnormer" GGUF: the official checkpoint converted by
// ConvertModelToGguf (floe convert) on the official checkpoint loads back and reproduces the
// official code's logits; a file whose keys are inconsistent is a clear error.
#include <filesystem>

#include "logits_files.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/tools/convert_model.h"
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
