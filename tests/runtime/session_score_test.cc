// floe_session_score (per-token NLL at prefill speed) and the session's history limit, through
// the C API, on stories260K (attention) and the rwkv.cpp tiny RWKV-6 (recurrent).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "floe/floe.h"
#include "test_data.h"

using floe::testing::DataPath;

namespace {

struct ModelHandle {
  floe_model* m = nullptr;
  explicit ModelHandle(const std::string& path, const std::string& tokenizer = "") {
    floe_model_params p = floe_model_default_params();
    if (!tokenizer.empty()) p.tokenizer_path = tokenizer.c_str();
    REQUIRE(floe_model_load(path.c_str(), &p, &m) == FLOE_OK);
  }
  ~ModelHandle() { floe_model_free(m); }
};

struct SessionHandle {
  floe_session* s = nullptr;
  SessionHandle(floe_model* m, uint32_t batch, uint32_t history_limit = 0) {
    floe_session_params p = floe_session_default_params();
    p.n_threads = 1;
    p.batch = batch;
    p.history_limit = history_limit;
    REQUIRE(floe_session_create(m, &p, &s) == FLOE_OK);
  }
  ~SessionHandle() { floe_session_free(s); }
};

// The test's own -log softmax(row)[target], in long double, written apart from the library's.
double ReferenceNll(const float* row, int vocab, int target) {
  long double m = row[0];
  for (int i = 1; i < vocab; ++i)
    if (row[i] > m) m = row[i];
  long double sum = 0;
  for (int i = 0; i < vocab; ++i) sum += std::exp((long double)row[i] - m);
  return double(std::log(sum) + m - (long double)row[target]);
}

std::vector<floe_token> Tokens(floe_model* m, const std::string& text) {
  std::vector<floe_token> t(text.size() + 8);
  size_t n = 0;
  REQUIRE(floe_tokenize(m, text.data(), text.size(), 1, t.data(), t.size(), &n) == FLOE_OK);
  t.resize(n);
  return t;
}

// NLL of tokens[1..] read one token at a time with floe_session_eval + floe_session_logits.
std::vector<double> StepNll(floe_model* m, const std::vector<floe_token>& tokens) {
  SessionHandle s(m, 64);
  const int V = floe_model_vocab_size(m);
  std::vector<double> out;
  REQUIRE(floe_session_eval(s.s, tokens.data(), 1) == FLOE_OK);
  for (size_t i = 1; i < tokens.size(); ++i) {
    out.push_back(ReferenceNll(floe_session_logits(s.s), V, tokens[i]));
    REQUIRE(floe_session_eval(s.s, &tokens[i], 1) == FLOE_OK);
  }
  return out;
}

const char* kText =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
    "sunshine. One day, she saw a big, red ball in the park. She ran to the ball and kicked it "
    "very hard. The ball flew up high into the sky and landed in a tree. Lily was sad because "
    "she could not reach the ball. Then her friend Tom came to help her.";

}  // namespace

TEST_CASE("floe_session_score gives each token's NLL, equal to token-by-token decoding",
          "[unit]") {
  ModelHandle model(DataPath("models/llama2c/stories260K.bin"),
                    DataPath("models/llama2c/tok512.bin"));
  const std::vector<floe_token> tokens = Tokens(model.m, kText);
  REQUIRE(tokens.size() > 70);
  const std::vector<double> step = StepNll(model.m, tokens);
  for (uint32_t batch : {1u, 5u, 16u, 64u}) {
    SessionHandle s(model.m, batch);
    REQUIRE(floe_session_eval(s.s, tokens.data(), 1) == FLOE_OK);
    // In two calls, so the first value of the second call comes from the first call's logits.
    std::vector<double> nll(tokens.size() - 1);
    const size_t half = 37;
    REQUIRE(floe_session_score(s.s, tokens.data() + 1, half, nll.data()) == FLOE_OK);
    REQUIRE(floe_session_score(s.s, tokens.data() + 1 + half, nll.size() - half,
                               nll.data() + half) == FLOE_OK);
    REQUIRE(floe_session_position(s.s) == tokens.size());
    double worst = 0;
    for (size_t i = 0; i < nll.size(); ++i) worst = std::max(worst, std::abs(nll[i] - step[i]));
    INFO("batch " << batch << ": max |score - step| " << worst);
    CHECK(worst < 1e-4);
  }
}

TEST_CASE("floe_session_score refuses an empty session, bad ids and a full context", "[unit]") {
  ModelHandle model(DataPath("models/llama2c/stories260K.bin"),
                    DataPath("models/llama2c/tok512.bin"));
  SessionHandle s(model.m, 16);
  const floe_token t[3] = {1, 50, 60};
  double nll[3] = {0, 0, 0};
  CHECK(floe_session_score(s.s, t, 3, nll) == FLOE_ERR_INVALID_ARGUMENT);
  CHECK(std::string(floe_session_last_error(s.s)).find("holds no token") != std::string::npos);
  REQUIRE(floe_session_eval(s.s, t, 1) == FLOE_OK);
  const floe_token bad[2] = {50, 100000};
  CHECK(floe_session_score(s.s, bad, 2, nll) == FLOE_ERR_INVALID_ARGUMENT);
  CHECK(floe_session_score(s.s, t, 3, nullptr) == FLOE_ERR_INVALID_ARGUMENT);
  CHECK(floe_session_position(s.s) == 1);
  std::vector<floe_token> many(600, 50);
  std::vector<double> out(many.size());
  CHECK(floe_session_score(s.s, many.data(), many.size(), out.data()) != FLOE_OK);
  CHECK(floe_session_position(s.s) == 1);
  CHECK(floe_session_score(s.s, t + 1, 2, nll) == FLOE_OK);  // still usable
  CHECK(std::isfinite(nll[0]));
}

TEST_CASE("a history limit keeps the state exact and restores only into a limited session",
          "[unit]") {
  ModelHandle model(DataPath("models/rwkv/tiny-rwkv-6v0-1m-FP32.bin"));
  std::vector<floe_token> bytes;
  for (char c : std::string(kText)) bytes.push_back(floe_token(static_cast<unsigned char>(c)));
  SessionHandle full(model.m, 16), limited(model.m, 16, 8);
  REQUIRE(floe_session_eval(full.s, bytes.data(), bytes.size()) == FLOE_OK);
  REQUIRE(floe_session_eval(limited.s, bytes.data(), bytes.size()) == FLOE_OK);
  const int V = floe_model_vocab_size(model.m);
  const float* a = floe_session_logits(full.s);
  const float* b = floe_session_logits(limited.s);
  for (int i = 0; i < V; ++i) REQUIRE(a[i] == b[i]);

  size_t full_size = 0, limited_size = 0;
  REQUIRE(floe_session_state_size(full.s, &full_size) == FLOE_OK);
  REQUIRE(floe_session_state_size(limited.s, &limited_size) == FLOE_OK);
  // The limited state holds 8 token ids instead of every one.
  CHECK(full_size - limited_size == (bytes.size() - 8) * sizeof(int32_t));

  std::vector<unsigned char> state(limited_size);
  size_t written = 0;
  REQUIRE(floe_session_state_save(limited.s, state.data(), state.size(), &written) == FLOE_OK);
  SessionHandle other_full(model.m, 16), other_limited(model.m, 16, 4);
  CHECK(floe_session_state_load(other_full.s, state.data(), written) ==
        FLOE_ERR_INVALID_ARGUMENT);
  CHECK(std::string(floe_session_last_error(other_full.s)).find("history limit") !=
        std::string::npos);
  CHECK(floe_session_position(other_full.s) == 0);
  REQUIRE(floe_session_state_load(other_limited.s, state.data(), written) == FLOE_OK);
  CHECK(floe_session_position(other_limited.s) == bytes.size());
  const floe_token next = 'x';
  REQUIRE(floe_session_eval(full.s, &next, 1) == FLOE_OK);
  REQUIRE(floe_session_eval(other_limited.s, &next, 1) == FLOE_OK);
  a = floe_session_logits(full.s);
  b = floe_session_logits(other_limited.s);
  for (int i = 0; i < V; ++i) REQUIRE(a[i] == b[i]);
}
