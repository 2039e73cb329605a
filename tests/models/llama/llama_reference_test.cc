// The Llama forward on make-model GGUFs against a plain scalar reference forward written from the
// Llama equations (llama_reference_forward.h: double accumulation, no floe kernels): F32 must
// match closely; the quantized types within their quantization error (the reference uses the
// dequantized weights).
#include <cmath>
#include <filesystem>

#include <catch2/catch.hpp>

#include "llama_reference_forward.h"
#include "platform/kernels/ops.h"

#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/tools/make_model.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

using namespace floe;
using floe::testing::ReferenceForward;

TEST_CASE("make-model GGUFs: our forward vs a scalar reference forward", "[model]") {
  // 40 tokens: a one-chunk prefill of more than 16 tokens (float panels or 8-bit tiles for
  // quantized weights, see MatMul); decode (batch 1) the 8-bit activation path.
  std::vector<int32_t> tokens = {1, 400, 3021, 77, 15999, 259, 31999, 5, 1234, 42, 9000, 600};
  while (tokens.size() < 40) tokens.push_back(int32_t((tokens.size() * 7919) % 32000));
  const auto dir = std::filesystem::temp_directory_path();
  struct Case {
    const char* arch;
    DType type;
  };
  for (Case cs :
       {Case{"llama", DType::kF32}, Case{"llama", DType::kF16}, Case{"llama", DType::kQ8_0},
        Case{"llama", DType::kQ4_0}, Case{"qwen2", DType::kF32}, Case{"qwen2", DType::kQ8_0}}) {
    const DType type = cs.type;
    INFO(cs.arch << " " << DTypeName(type));
    MakeModelOptions o;
    o.arch = cs.arch;
    o.preset = "tiny";
    o.type = type;
    o.seed = 3;
    o.output_path = (dir / ("floe-ref-" + std::string(cs.arch) + DTypeName(type) + "-" +
                            std::to_string(::getpid()) + ".gguf"))
                        .string();
    REQUIRE(MakeModelGguf(o).ok());
    auto file = GgufFile::Open(o.output_path);
    REQUIRE(file.ok());
    const auto ref = ReferenceForward(*file, tokens);
    auto model = Model::Load(o.output_path);
    REQUIRE(model.ok());
    CHECK((*model)->architecture() == cs.arch);
    float scale = 0.0f;
    for (float v : ref) scale = std::max(scale, std::fabs(v));
    REQUIRE(scale > 0.1f);
    // Prefill (one chunk, matrix-matrix) and decode (one token at a time, matrix-vector).
    for (size_t batch : {64, 1}) {
      INFO("batch " << batch);
      SessionParams p;
      p.batch = batch;
      auto s = Session::Create(**model, p);
      REQUIRE(s.ok());
      REQUIRE((*s)->Eval(tokens, true).ok());
      const auto& got = (*s)->all_logits();
      REQUIRE(got.size() == ref.size());
      float diff = 0.0f;
      for (size_t i = 0; i < got.size(); ++i) diff = std::max(diff, std::fabs(got[i] - ref[i]));
      INFO("max abs diff " << diff << ", logits up to " << scale);
      // F32/F16 weights are used exactly (F16 widened); quantized weights meet 8-bit activations
      // in decode (batch 1) and, on CPUs with fast 8-bit products, in a prefill chunk of
      // 40 tokens too (else float activations).
      const bool quant_decode =
          IsQuantized(type) && (batch == 1 || MatMulQuantizesActivations(type, tokens.size()));
      CHECK(diff <= (quant_decode ? 0.02f * scale : 1e-4f * std::max(1.0f, scale)));
    }
    std::filesystem::remove(o.output_path);
  }
}

TEST_CASE("make-model --context sets the trained context and leaves the weights alone", "[model]") {
  const auto dir = std::filesystem::temp_directory_path();
  const std::vector<int32_t> tokens = {1, 400, 3021, 77, 15999, 259};
  std::vector<float> logits[2];
  for (size_t context : {size_t(0), size_t(65536)}) {
    MakeModelOptions o;
    o.preset = "tiny";
    o.seed = 5;
    o.context_length = context;
    o.output_path =
        (dir / ("floe-ctx-" + std::to_string(context) + "-" + std::to_string(::getpid()) + ".gguf"))
            .string();
    REQUIRE(MakeModelGguf(o).ok());
    auto model = Model::Load(o.output_path);
    REQUIRE(model.ok());
    CHECK((*model)->lm().context_length() == (context == 0 ? 32768u : context));
    auto s = Session::Create(**model, SessionParams());
    REQUIRE(s.ok());
    REQUIRE((*s)->Eval(tokens, true).ok());
    logits[context != 0] = (*s)->all_logits();
    std::filesystem::remove(o.output_path);
  }
  REQUIRE(!logits[0].empty());
  CHECK(logits[0] == logits[1]);  // the same weights (rope depends on positions, not the context)
  MakeModelOptions bad;
  bad.output_path = (dir / "floe-ctx-bad.gguf").string();
  bad.context_length = size_t(1) << 30;
  const Status st = MakeModelGguf(bad);
  CHECK(st.code() == StatusCode::kInvalidArgument);
  CHECK(st.message().find("context length") != std::string::npos);
}
