// Parity with the official TransNormerLLM code (Hugging Face modeling_transnormer.py, eval
// path): ../shared/data/reference/transnormer holds a small random-weight model saved by
// save_pretrained (pytorch_model.bin + config.json) and as safetensors, 64 tokens, the logits of
// one full-sequence forward, of the recurrent (use_cache) path token by token, and a greedy
// continuation with the logits each token was chosen from. floe loads both files itself and
// must match every position with any chunk size.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "runtime/engine/model.h"
#include "runtime/engine/session.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;

namespace {

constexpr size_t kVocab = 512;

std::vector<float> ReadF32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() % 4 == 0);
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

std::vector<int32_t> ReadTokens(const std::string& path) {
  std::ifstream f(path);
  REQUIRE(f.good());
  std::vector<int32_t> t;
  for (int32_t x; f >> x;) t.push_back(x);
  return t;
}

float MaxAbsDiff(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  float m = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// Both sides compute in f32 (the official run is float32 throughout) and differ only in the
// order of their sums. f32 rounds to 2^-24 relative; a logit ends a chain of about 20 reductions
// (3 layers x norm, qkvu, attention, out projection, the 3 GLU matrices; then the head), each
// over at most 176 terms, whose rounding errors add like a random walk: about
// 20 x sqrt(176) x 2^-24 ~ 1.6e-5 of the largest logit (|logit| <= ~4.2 here), i.e. ~7e-5.
float Tolerance(std::span<const float> want) {
  float scale = 0.0f;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  return 20.0f * std::sqrt(176.0f) * std::ldexp(1.0f, -24) * std::max(1.0f, scale);
}

std::unique_ptr<Session> NewSession(const Model& m, size_t batch) {
  SessionParams p;
  p.batch = batch;
  p.threads = 2;
  auto s = Session::Create(m, p);
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  return std::move(s).value();
}

void CheckParity(const std::string& file, ModelFormat format) {
  const std::string dir = "reference/transnormer/";
  auto model = Model::Load(DataPath(dir + file));
  INFO(model.status().ToString());
  REQUIRE(model.ok());
  const Model& m = **model;
  CHECK(m.format() == format);
  CHECK(m.architecture() == "transnormer");
  REQUIRE(m.lm().vocab_size() == kVocab);
  const auto tokens = ReadTokens(DataPath(dir + "tokens.txt"));
  REQUIRE(tokens.size() == 64);
  const auto seq = ReadF32(DataPath(dir + "logits.f32"));
  const auto step = ReadF32(DataPath(dir + "step_logits.f32"));
  const auto gen_tokens = ReadTokens(DataPath(dir + "generated_tokens.txt"));
  const auto gen_logits = ReadF32(DataPath(dir + "generated_logits.f32"));
  REQUIRE(seq.size() == 64 * kVocab);
  REQUIRE(step.size() == 64 * kVocab);
  REQUIRE(gen_tokens.size() == 16);
  REQUIRE(gen_logits.size() == 16 * kVocab);

  // Full sequence, all logits, in chunks of 1, 5, 16, 64 (Lightning blocks; 1 = recurrent).
  for (size_t batch : {1, 5, 16, 64}) {
    INFO("chunk size " << batch);
    auto s = NewSession(m, batch);
    REQUIRE(s->Eval(tokens, /*all_logits=*/true).ok());
    const float d = MaxAbsDiff(s->all_logits(), seq);
    std::printf("transnormer %s chunk %zu: max |logits - official| = %.3g\n", file.c_str(), batch,
                double(d));
    CHECK(d <= Tolerance(seq));
  }
  // Token by token against the official recurrent path.
  {
    auto s = NewSession(m, 64);
    std::vector<float> rows;
    for (int32_t t : tokens) {
      REQUIRE(s->Eval(std::span<const int32_t>(&t, 1)).ok());
      rows.insert(rows.end(), s->logits().begin(), s->logits().end());
    }
    const float d = MaxAbsDiff(rows, step);
    std::printf("transnormer %s token by token: max |logits - official step| = %.3g\n",
                file.c_str(), double(d));
    CHECK(d <= Tolerance(step));
  }
  // Greedy continuation: the prompt in one chunk, then one token at a time.
  {
    auto s = NewSession(m, 64);
    REQUIRE(s->Eval(tokens).ok());
    float worst = 0.0f;
    for (size_t i = 0; i < gen_tokens.size(); ++i) {
      const auto row = s->logits();
      worst = std::max(
          worst, MaxAbsDiff(row, std::span<const float>(gen_logits).subspan(i * kVocab, kVocab)));
      const int32_t next = int32_t(std::max_element(row.begin(), row.end()) - row.begin());
      INFO("generated token " << i);
      REQUIRE(next == gen_tokens[i]);
      REQUIRE(s->Eval(std::span<const int32_t>(&next, 1)).ok());
    }
    std::printf("transnormer %s greedy 16 tokens: max |logits - official| = %.3g\n", file.c_str(),
                double(worst));
    CHECK(worst <= Tolerance(gen_logits));
  }
}

}  // namespace

TEST_CASE("TransNormerLLM model.safetensors matches the official logits", "[model]") {
  CheckParity("model.safetensors", ModelFormat::kSafetensors);
}

TEST_CASE("TransNormerLLM pytorch_model.bin matches the official logits", "[model]") {
  CheckParity("pytorch_model.bin", ModelFormat::kTorch);
}
