// RoPE scaling end to end: make-model files carrying each scaling (linear, YaRN, llama3's
// rope_freqs) run 96 tokens, three times their original context of 32, and their logits must
// match the double-precision reference forward (llama_reference_forward.h) whose RoPE comes from
// the published definitions (rope_reference.h), in prefill and in decode. Bad files (unknown
// scaling types, factors <= 0, rope_freqs of the wrong length, type or values) are clear errors.
// Parity with llama.cpp itself is measured by bench/scripts/rope_scaling_parity.sh
// (docs/results/rope-scaling.md).
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "llama_reference_forward.h"
#include "rope_reference.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/formats/gguf/gguf_writer.h"
#include "runtime/tools/convert_model.h"
#include "runtime/tools/make_model.h"
#include "temp_files.h"

using namespace floe;
using floe::testing::Cleanup;
using floe::testing::ReferenceForward;
using floe::testing::ReferenceFreqs;
using floe::testing::RopeParamsD;
using floe::testing::Scaling;
using floe::testing::TempPath;

namespace {

constexpr size_t kOrigContext = 32, kContext = 128, kTokens = 96, kHeadDim = 32;  // tiny preset

std::vector<int32_t> Tokens() {
  std::vector<int32_t> t = {1};
  while (t.size() < kTokens) t.push_back(int32_t((t.size() * 7919 + 13) % 32000));
  return t;
}

// A tiny f32 file carrying the scaling (make-model's --rope-* flags).
std::string MakeFile(const std::string& arch, const RandomRopeScaling& rope,
                     const std::string& stem, size_t context = kContext) {
  MakeModelOptions o;
  o.arch = arch;
  o.preset = "tiny";
  o.seed = 3;
  o.context_length = context;
  o.rope = rope;
  o.output_path = TempPath("rope", stem + ".gguf");
  const Status st = MakeModelGguf(o);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return o.output_path;
}

std::vector<float> FloeLogits(const Model& m, const std::vector<int32_t>& tokens, size_t batch) {
  SessionParams p;
  p.batch = batch;
  auto s = Session::Create(m, p);
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  REQUIRE((*s)->Eval(tokens, true).ok());
  return (*s)->all_logits();
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float d = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

}  // namespace

TEST_CASE("RoPE scaling: logits match the double reference past the original context",
          "[model]") {
  struct Case {
    Scaling ref;             // the definition the reference computes from
    RandomRopeScaling file;  // what make-model writes
  };
  auto file = [](const char* type, float factor, size_t orig, float attn = 0.0f) {
    RandomRopeScaling r;
    r.type = type;
    r.factor = factor;
    r.original_context = orig;
    r.attn_factor = attn;
    return r;
  };
  const Case cases[] = {
      {{"linear x4", 4.0}, file("linear", 4.0f, 0)},
      {{"yarn x4, orig 32", 4.0, true, kOrigContext}, file("yarn", 4.0f, kOrigContext)},
      {{"yarn x4, orig 32, attn 1.5", 4.0, true, kOrigContext, 1.5},
       file("yarn", 4.0f, kOrigContext, 1.5f)},
      {{"llama3 x8, orig 32", 8.0, false, kOrigContext, 1.0, true},
       file("llama3", 8.0f, kOrigContext)},
  };
  const auto tokens = Tokens();
  for (const char* arch : {"llama", "qwen2"}) {
    const std::string plain_path = MakeFile(arch, {}, std::string(arch) + "-plain");
    Cleanup plain_cleanup{plain_path};
    // Unscaled logits (floe's; llama_reference_test holds them to the reference forward).
    auto plain_model = Model::Load(plain_path);
    REQUIRE(plain_model.ok());
    const auto unscaled = FloeLogits(**plain_model, tokens, 64);
    for (const Case& c : cases) {
      INFO(arch << ", " << c.ref.name);
      const std::string path = MakeFile(arch, c.file, std::string(arch) + "-scaled");
      Cleanup cleanup{path};
      auto gguf = GgufFile::Open(path);
      REQUIRE(gguf.ok());
      RopeParamsD rope;
      ReferenceFreqs(c.ref, kHeadDim, 10000.0, &rope.inv_freq, &rope.mscale);
      const auto ref = ReferenceForward(*gguf, tokens, rope);
      float scale = 0.0f;
      for (float v : ref) scale = std::max(scale, std::fabs(v));
      const float tol = 1e-5f * std::max(1.0f, scale);
      // The scaling moves the logits far beyond the tolerance, so a check that passes does
      // not pass because scaling changes nothing here.
      const float moved = MaxAbsDiff(ref, unscaled);
      INFO("scaling moves the logits by up to " << moved);
      CHECK(moved > 50 * tol);
      auto model = Model::Load(path);
      INFO(model.status().ToString());
      REQUIRE(model.ok());
      for (size_t batch : {size_t(64), size_t(1)}) {
        INFO("batch " << batch);
        const float diff = MaxAbsDiff(FloeLogits(**model, tokens, batch), ref);
        INFO("max abs diff " << diff << ", logits up to " << scale);
        CHECK(diff <= tol);
      }
    }
  }
}

TEST_CASE("RoPE scaling type none and an absent type with no factor rotate as unscaled RoPE",
          "[model]") {
  const auto tokens = Tokens();
  const std::string plain = MakeFile("llama", {}, "plain");
  Cleanup c1{plain};
  RandomRopeScaling none;
  none.type = "none";
  const std::string none_path = MakeFile("llama", none, "none");
  Cleanup c2{none_path};
  auto a = Model::Load(plain);
  auto b = Model::Load(none_path);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(FloeLogits(**a, tokens, 64) == FloeLogits(**b, tokens, 64));
}

TEST_CASE("YaRN extends the usable context to factor x the original context", "[model]") {
  // As a Qwen2 file converted with YaRN: context_length == original_context_length.
  RandomRopeScaling yarn;
  yarn.type = "yarn";
  yarn.factor = 4.0f;
  yarn.original_context = kOrigContext;
  const std::string y = MakeFile("qwen2", yarn, "yarn-ctx", kOrigContext);
  Cleanup c1{y};
  auto m = Model::Load(y);
  REQUIRE(m.ok());
  CHECK((*m)->lm().context_length() == 4 * kOrigContext);
  CHECK(FloeLogits(**m, Tokens(), 64).size() == kTokens * 32000);  // 96 > 32 tokens run
  // Linear scaling keeps the file's context (its converters write the extended one).
  RandomRopeScaling linear;
  linear.type = "linear";
  linear.factor = 4.0f;
  const std::string l = MakeFile("llama", linear, "linear-ctx", kOrigContext);
  Cleanup c2{l};
  auto n = Model::Load(l);
  REQUIRE(n.ok());
  CHECK((*n)->lm().context_length() == kOrigContext);
}

TEST_CASE("floe convert keeps a file's RoPE scaling", "[model]") {
  const auto tokens = Tokens();
  RandomRopeScaling yarn;
  yarn.type = "yarn";
  yarn.factor = 4.0f;
  yarn.original_context = kOrigContext;
  yarn.attn_factor = 1.5f;
  RandomRopeScaling llama3;
  llama3.type = "llama3";
  llama3.factor = 8.0f;
  llama3.original_context = kOrigContext;
  for (const RandomRopeScaling& r : {yarn, llama3}) {
    INFO(r.type);
    const std::string in = MakeFile("llama", r, "convert-in");
    Cleanup c1{in};
    auto m = Model::Load(in);
    REQUIRE(m.ok());
    const std::string out = TempPath("rope", "convert-out.gguf");
    Cleanup c2{out};
    const Status st = ConvertModelToGguf(**m, "converted", out);
    INFO(st.ToString());
    REQUIRE(st.ok());
    auto back = Model::Load(out);
    REQUIRE(back.ok());
    CHECK(FloeLogits(**m, tokens, 64) == FloeLogits(**back, tokens, 64));
  }
}

namespace {

// A copy of `src` with the llama.* RoPE scaling keys replaced by `set` and rope_freqs.weight
// replaced by `freqs` (type, ggml dims) when given.
struct Edit {
  std::function<void(GgufWriter&)> set;
  bool replace_freqs = false;
  uint32_t freqs_type = 0;           // ggml type: 0 f32, 1 f16
  std::vector<uint64_t> freqs_ne = {};
  std::vector<uint8_t> freqs_bytes = {};
};

std::string Rewrite(const GgufFile& src, const Edit& e, const std::string& stem) {
  GgufWriter w;
  for (const auto& [key, value] : src.metadata())
    if (key.rfind("llama.rope.scaling", 0) != 0) w.SetValue(key, value);
  if (e.set) e.set(w);
  for (const GgufTensorInfo& t : src.tensors()) {
    if (t.name == "rope_freqs.weight") continue;
    REQUIRE(w.AddTensor(t.name, t.ne, t.type, t.data, size_t(t.nbytes)).ok());
  }
  if (e.replace_freqs)
    REQUIRE(w.AddTensor("rope_freqs.weight", e.freqs_ne, e.freqs_type, e.freqs_bytes.data(),
                        e.freqs_bytes.size())
                .ok());
  const std::string path = TempPath("rope-bad", stem + ".gguf");
  REQUIRE(w.WriteFile(path).ok());
  return path;
}

std::vector<uint8_t> F32Bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(float));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

}  // namespace

TEST_CASE("RoPE scaling: bad keys and rope_freqs tensors are clear errors", "[model]") {
  RandomRopeScaling llama3;
  llama3.type = "llama3";
  llama3.factor = 8.0f;
  llama3.original_context = kOrigContext;
  const std::string base = MakeFile("llama", llama3, "base");
  Cleanup base_cleanup{base};
  auto src = GgufFile::Open(base);
  REQUIRE(src.ok());
  REQUIRE(Model::Load(base).ok());  // the unedited file loads

  struct Bad {
    const char* what;
    Edit edit;
    StatusCode code;
    const char* message;  // a phrase the error must contain
  };
  auto key_str = [](const char* k, const char* v) {
    return [=](GgufWriter& w) { w.SetString(k, v); };
  };
  auto key_f32 = [](const char* k, float v) { return [=](GgufWriter& w) { w.SetFloat32(k, v); }; };
  auto freqs = [](std::vector<uint64_t> ne, uint32_t type, std::vector<uint8_t> bytes) {
    Edit e;
    e.replace_freqs = true;
    e.freqs_ne = std::move(ne);
    e.freqs_type = type;
    e.freqs_bytes = std::move(bytes);
    return e;
  };
  std::vector<float> ones(kHeadDim / 2, 1.0f);
  std::vector<float> with_zero = ones;
  with_zero[5] = 0.0f;
  std::vector<float> with_nan = ones;
  with_nan[2] = std::numeric_limits<float>::quiet_NaN();
  const Bad bads[] = {
      {"unknown type", {key_str("llama.rope.scaling.type", "dynamic")}, StatusCode::kCorruptData,
       "'dynamic' is not a RoPE scaling type"},
      {"longrope", {key_str("llama.rope.scaling.type", "longrope")}, StatusCode::kUnsupported,
       "longrope"},
      {"type not a string",
       {[](GgufWriter& w) { w.SetUint32("llama.rope.scaling.type", 2); }},
       StatusCode::kInvalidArgument, "'llama.rope.scaling.type' is uint32, expected string"},
      {"factor 0", {key_f32("llama.rope.scaling.factor", 0.0f)}, StatusCode::kCorruptData,
       "llama.rope.scaling.factor = 0"},
      {"factor < 0", {key_f32("llama.rope.scaling.factor", -4.0f)}, StatusCode::kCorruptData,
       "must be a positive finite number"},
      {"factor NaN",
       {key_f32("llama.rope.scaling.factor", std::numeric_limits<float>::quiet_NaN())},
       StatusCode::kCorruptData, "llama.rope.scaling.factor"},
      {"factor inf",
       {key_f32("llama.rope.scaling.factor", std::numeric_limits<float>::infinity())},
       StatusCode::kCorruptData, "llama.rope.scaling.factor"},
      {"old factor key < 0", {key_f32("llama.rope.scale_linear", -1.0f)},
       StatusCode::kCorruptData, "llama.rope.scale_linear"},
      {"attn factor 0", {key_f32("llama.rope.scaling.attn_factor", 0.0f)},
       StatusCode::kCorruptData, "llama.rope.scaling.attn_factor"},
      {"rope_freqs too short",
       freqs({kHeadDim / 2 - 1}, 0, F32Bytes(std::vector<float>(kHeadDim / 2 - 1, 1.0f))),
       StatusCode::kCorruptData, "rope_freqs has 15 values, expected rope dimension / 2 = 16"},
      {"rope_freqs too long",
       freqs({kHeadDim}, 0, F32Bytes(std::vector<float>(kHeadDim, 1.0f))),
       StatusCode::kCorruptData, "rope_freqs has 32 values"},
      {"rope_freqs f16", freqs({kHeadDim / 2}, 1, std::vector<uint8_t>(kHeadDim, 0)),
       StatusCode::kUnsupported, "rope_freqs.weight must be f32"},
      {"rope_freqs 2-D", freqs({kHeadDim / 4, 2}, 0, F32Bytes(ones)), StatusCode::kCorruptData,
       "rope_freqs.weight must be a vector"},
      {"rope_freqs with a zero", freqs({kHeadDim / 2}, 0, F32Bytes(with_zero)),
       StatusCode::kCorruptData, "rope_freqs[5]"},
      {"rope_freqs with a NaN", freqs({kHeadDim / 2}, 0, F32Bytes(with_nan)),
       StatusCode::kCorruptData, "rope_freqs[2]"},
  };
  for (const Bad& b : bads) {
    INFO(b.what);
    const std::string path = Rewrite(*src, b.edit, "bad");
    Cleanup cleanup{path};
    auto m = Model::Load(path);
    REQUIRE(!m.ok());
    INFO(m.status().ToString());
    CHECK(m.status().code() == b.code);
    CHECK(m.status().message().find(b.message) != std::string::npos);
  }
}

TEST_CASE("make-model refuses bad RoPE scaling options", "[model]") {
  struct Bad {
    const char* arch;
    const char* type;
    float factor;
    const char* message;
  };
  const Bad bads[] = {
      {"llama", "dynamic", 4.0f, "unknown RoPE scaling 'dynamic'"},
      {"llama", "linear", 0.0f, "needs a factor > 0"},
      {"llama", "yarn", -2.0f, "needs a factor > 0"},
      {"qwen2", "llama3", std::numeric_limits<float>::infinity(), "needs a factor > 0"},
      {"rwkv6", "linear", 4.0f, "rwkv6 has no RoPE scaling"},
  };
  for (const Bad& b : bads) {
    INFO(b.arch << " " << b.type << " " << b.factor);
    MakeModelOptions o;
    o.arch = b.arch;
    o.rope.type = b.type;
    o.rope.factor = b.factor;
    o.output_path = TempPath("rope-mm", "bad.gguf");
    Cleanup cleanup{o.output_path};
    const Status st = MakeModelGguf(o);
    REQUIRE(!st.ok());
    INFO(st.ToString());
    CHECK(st.code() == StatusCode::kInvalidArgument);
    CHECK(st.message().find(b.message) != std::string::npos);
  }
}
