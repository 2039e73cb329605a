// GoldFinch in floe's "goldfinch" GGUF layout: floe convert writes it from the official .pth;
// loading it back reproduces the official logits. make-model writes every preset type of the
// tiny preset, and the result loads and runs (chunked prefill equals token-by-token decode).
#include <cmath>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "logits_files.h"
#include "platform/kernels/ops.h"
#include "runtime/engine/model.h"
#include "runtime/formats/gguf/gguf_writer.h"
#include "runtime/tools/convert_model.h"
#include "runtime/tools/make_model.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;
using floe::testing::MaxAbsDiff;
using floe::testing::ReadF32;
using floe::testing::ReadTokens;

namespace {

std::string TempPath(const std::string& stem) {
  return (std::filesystem::temp_directory_path() /
          (stem + "-" + std::to_string(::getpid()) + ".gguf"))
      .string();
}

std::unique_ptr<Model> Load(const std::string& path) {
  auto m = Model::Load(path);
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  return std::move(m).value();
}

std::vector<float> AllLogits(const Model& m, std::span<const int32_t> tokens, size_t batch) {
  StateOptions o;
  o.max_batch = batch;
  auto s = m.lm().NewState(o);
  REQUIRE(s.ok());
  ThreadContext threads(2);
  std::vector<float> out(tokens.size() * m.lm().vocab_size());
  REQUIRE(m.lm().Forward(**s, tokens, LogitsMode::kAll, out.data(), threads, nullptr).ok());
  return out;
}

}  // namespace

TEST_CASE("official GoldFinch .pth -> goldfinch GGUF -> the official logits", "[model]") {
  auto pth = Load(DataPath("reference/goldfinch/model.pth"));
  const std::string gguf = TempPath("ref-goldfinch");
  Status st = ConvertModelToGguf(*pth, "ref-goldfinch", gguf);
  INFO(st.ToString());
  REQUIRE(st.ok());
  auto m = Load(gguf);
  CHECK(m->format() == ModelFormat::kGguf);
  CHECK(m->architecture() == "goldfinch");
  const auto tokens = ReadTokens(DataPath("reference/goldfinch/tokens.txt"));
  const auto official = ReadF32(DataPath("reference/goldfinch/logits.f32"));
  for (size_t batch : {64, 5}) {
    const float d = MaxAbsDiff(AllLogits(*m, tokens, batch), official);
    WARN("GGUF round trip, chunk " << batch << ": max |floe - logits.f32| = " << d);
    CHECK(d <= 1e-4f);
  }
  SECTION("a key contradicting the tensors is an error naming it") {
    auto file = GgufFile::Open(gguf);
    REQUIRE(file.ok());
    GgufWriter w;
    for (const auto& [k, v] : file->metadata()) w.SetValue(k, v);
    w.SetUint32("goldfinch.first_gold_layer", 3);
    for (const auto& t : file->tensors())
      REQUIRE(w.AddTensor(t.name, t.ne, t.type, t.data, t.nbytes).ok());
    const std::string bad = TempPath("ref-goldfinch-bad");
    REQUIRE(w.WriteFile(bad).ok());
    auto b = Model::Load(bad);
    std::filesystem::remove(bad);
    REQUIRE_FALSE(b.ok());
    CHECK_THAT(b.status().ToString(),
               Catch::Contains("goldfinch.first_gold_layer") && Catch::Contains("contradicts"));
  }
  std::filesystem::remove(gguf);
}

TEST_CASE("make-model goldfinch tiny in f32, f16, bf16 loads and runs", "[model]") {
  std::vector<int32_t> tokens;
  for (int i = 0; i < 40; ++i) tokens.push_back((i * 37 + 11) % 256);
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16}) {
    INFO(DTypeName(type));
    MakeModelOptions o;
    o.arch = "goldfinch";
    o.preset = "tiny";
    o.type = type;
    o.output_path = TempPath("goldfinch-tiny");
    Status st = MakeModelGguf(o);
    INFO(st.ToString());
    REQUIRE(st.ok());
    auto m = Load(o.output_path);
    std::filesystem::remove(o.output_path);
    CHECK(m->architecture() == "goldfinch");
    const auto whole = AllLogits(*m, tokens, 64);
    for (float x : whole) REQUIRE(std::isfinite(x));
    // Chunks of 1 or 7 tokens reassociate some float sums. Where bf16 products round the
    // activations to bf16 (ops.h), such a difference can flip one activation's rounding, a step
    // of 2^-8 of its size: the logits may then move by more than float reassociation does.
    const float chunk_tol = MatMulRoundsActivationsToBf16(type) ? 0.02f : 1e-4f;
    CHECK(MaxAbsDiff(AllLogits(*m, tokens, 1), whole) <= chunk_tol);
    CHECK(MaxAbsDiff(AllLogits(*m, tokens, 7), whole) <= chunk_tol);
  }
}
