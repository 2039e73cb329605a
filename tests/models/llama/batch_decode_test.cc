// Batched decode (CausalLm::ForwardEach via Session::EvalBatch and floe_eval_batch): one step
// for several sequences reads each weight once, and gives what decoding each session alone
// gives, bit for bit (matrix-matrix rows equal matrix-vector products; for quantized weights up
// to 16 rows take the matrix-vector path).
#include <cmath>
#include <filesystem>

#include "floe/floe.h"
#include "runtime/tools/make_model.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;

namespace {

// Decodes `steps` tokens for each prompt (greedy, or a fixed token schedule so that tiny
// differences cannot change the path), session by session or batched; returns every step's
// logits of every sequence.
std::vector<float> Decode(const Model& m, const std::vector<std::vector<int32_t>>& prompts,
                          size_t steps, bool batched, bool greedy = true) {
  std::vector<std::unique_ptr<Session>> sessions;
  for (const auto& p : prompts) {
    auto s = Session::Create(m, {});
    REQUIRE(s.ok());
    REQUIRE((*s)->Eval(p).ok());
    sessions.push_back(std::move(s).value());
  }
  const size_t V = m.lm().vocab_size();
  std::vector<float> out;
  ThreadContext threads(2);
  for (size_t step = 0; step < steps; ++step) {
    std::vector<int32_t> next(sessions.size());
    std::vector<Session*> ptrs;
    for (size_t i = 0; i < sessions.size(); ++i) {
      const auto lg = sessions[i]->logits();
      next[i] = greedy ? int32_t(std::max_element(lg.begin(), lg.end()) - lg.begin())
                       : int32_t(3 + (step * 977 + i * 131) % (m.lm().vocab_size() - 3));
      ptrs.push_back(sessions[i].get());
    }
    if (batched) {
      REQUIRE(Session::EvalBatch(ptrs, next, threads).ok());
    } else {
      for (size_t i = 0; i < sessions.size(); ++i)
        REQUIRE(sessions[i]->Eval(std::span<const int32_t>(&next[i], 1)).ok());
    }
    for (auto& s : sessions)
      out.insert(out.end(), s->logits().begin(), s->logits().begin() + std::ptrdiff_t(V));
  }
  return out;
}

}  // namespace

TEST_CASE("batched decode equals per-session decode (stories260K, f32: bit for bit)", "[model]") {
  LoadOptions o;
  o.tokenizer_path = DataPath("models/llama2c/tok512.bin");
  auto m = Model::Load(DataPath("models/llama2c/stories260K.bin"), o);
  REQUIRE(m.ok());
  const Tokenizer* tok = (*m)->tokenizer();
  const std::vector<std::vector<int32_t>> prompts = {
      tok->Encode("Once upon a time", true), tok->Encode("The cat", true),
      tok->Encode("Lily and Ben went to the park to play with", true),
      tok->Encode("One day", true)};
  const auto alone = Decode(**m, prompts, 24, false);
  const auto batched = Decode(**m, prompts, 24, true);
  CHECK(alone == batched);
}

TEST_CASE("batched decode on a quantized model equals per-session decode", "[model]") {
  MakeModelOptions o;
  o.preset = "tiny";
  o.type = DType::kQ8_0;
  o.output_path = (std::filesystem::temp_directory_path() /
                   ("floe-batch-" + std::to_string(::getpid()) + ".gguf"))
                      .string();
  REQUIRE(MakeModelGguf(o).ok());
  auto m = Model::Load(o.output_path);
  REQUIRE(m.ok());
  const std::vector<std::vector<int32_t>> prompts = {{1, 500, 600}, {1, 7000}, {1, 3, 4, 5, 6}};
  const auto alone = Decode(**m, prompts, 6, false, /*greedy=*/false);
  const auto batched = Decode(**m, prompts, 6, true, /*greedy=*/false);
  float diff = 0.0f, scale = 0.0f;
  for (size_t i = 0; i < alone.size(); ++i) {
    diff = std::max(diff, std::fabs(alone[i] - batched[i]));
    scale = std::max(scale, std::fabs(alone[i]));
  }
  INFO("max abs diff " << diff << " of logits up to " << scale);
  CHECK(diff == 0.0f);  // <= 16 sequences: each row takes MatVec's 8-bit activation path
  std::filesystem::remove(o.output_path);
}

TEST_CASE("floe_eval_batch: a decode step is batched, misuse is an error that changes nothing",
          "[model]") {
  floe_model_params mp = floe_model_default_params();
  const std::string tok = DataPath("models/llama2c/tok512.bin");
  mp.tokenizer_path = tok.c_str();
  floe_model* model = nullptr;
  REQUIRE(floe_model_load(DataPath("models/llama2c/stories260K.bin").c_str(), &mp, &model) ==
          FLOE_OK);
  // c and d are the references: a's and b's sequences evaluated alone.
  floe_session *a = nullptr, *b = nullptr, *c = nullptr, *d = nullptr;
  REQUIRE(floe_session_create(model, nullptr, &a) == FLOE_OK);
  REQUIRE(floe_session_create(model, nullptr, &b) == FLOE_OK);
  REQUIRE(floe_session_create(model, nullptr, &c) == FLOE_OK);
  REQUIRE(floe_session_create(model, nullptr, &d) == FLOE_OK);
  const floe_token pa[] = {1, 400, 30}, pb[] = {1, 77};
  REQUIRE(floe_session_eval(a, pa, 3) == FLOE_OK);
  REQUIRE(floe_session_eval(b, pb, 2) == FLOE_OK);
  REQUIRE(floe_session_eval(c, pa, 3) == FLOE_OK);
  REQUIRE(floe_session_eval(d, pb, 2) == FLOE_OK);
  const floe_token ta = 100, tb = 200;
  const floe_token* toks[] = {&ta, &tb};
  const size_t ns[] = {1, 1};
  floe_session* both[] = {a, b};
  size_t failed = 99;
  REQUIRE(floe_eval_batch(both, toks, ns, 2, 2, &failed) == FLOE_OK);
  REQUIRE(floe_session_eval(c, &ta, 1) == FLOE_OK);
  REQUIRE(floe_session_eval(d, &tb, 1) == FLOE_OK);
  // f32 weights, one row per session: the batched step runs each row through the same kernels
  // as a lone decode step, so both sessions' logits are equal bit for bit.
  CHECK(std::memcmp(floe_session_logits(a), floe_session_logits(c), 512 * sizeof(float)) == 0);
  CHECK(std::memcmp(floe_session_logits(b), floe_session_logits(d), 512 * sizeof(float)) == 0);
  CHECK(floe_session_position(a) == 4);
  CHECK(floe_session_position(b) == 3);
  // A token outside the vocabulary: nothing advances.
  const floe_token bad = 100000;
  const floe_token* toks_bad[] = {&ta, &bad};
  CHECK(floe_eval_batch(both, toks_bad, ns, 2, 2, &failed) == FLOE_ERR_OUT_OF_RANGE);
  CHECK(failed == 2);
  CHECK(floe_session_position(a) == 4);
  CHECK(floe_session_position(b) == 3);
  CHECK(std::memcmp(floe_session_logits(a), floe_session_logits(c), 512 * sizeof(float)) == 0);
  CHECK(std::memcmp(floe_session_logits(b), floe_session_logits(d), 512 * sizeof(float)) == 0);
  floe_session_free(a);
  floe_session_free(b);
  floe_session_free(c);
  floe_session_free(d);
  floe_model_free(model);
}
