// The session memory budget (floe_session_params.memory_budget) through the C API, on
// stories-long-2k (dense attention: the KV cache grows with the sequence) and the rwkv.cpp tiny
// RWKV-6 (recurrent: constant state). The bytes per token expected here come from the model's
// published shape (stories-long-README.txt), not from floe.
#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "floe/floe.h"
#include "sanitizer_scale.h"
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
  floe_status created = FLOE_OK;
  SessionHandle(floe_model* m, uint64_t budget, uint32_t context = 2048) {
    floe_session_params p = floe_session_default_params();
    p.n_threads = 1;
    p.batch = 32;
    p.context_length = context;
    p.memory_budget = budget;
    created = floe_session_create(m, &p, &s);
  }
  ~SessionHandle() { floe_session_free(s); }
};

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `tokens` token ids of War and Peace (real text, from its middle).
std::vector<floe_token> Text(floe_model* m, size_t tokens) {
  std::string text = ReadText(DataPath("corpora/war-and-peace.txt"));
  text = text.substr(text.size() / 2, tokens * 8);
  std::vector<floe_token> t(text.size() + 8);
  size_t n = 0;
  REQUIRE(floe_tokenize(m, text.data(), text.size(), 1, t.data(), t.size(), &n) == FLOE_OK);
  REQUIRE(n >= tokens);
  t.resize(tokens);
  return t;
}

// stories-long-2k: 4 layers x 2 KV heads x head_dim 32, f32 keys and values.
constexpr uint64_t kKvBytesPerToken = 2 * 4 * 2 * 32 * sizeof(float);

}  // namespace

TEST_CASE("an eval past the memory budget fails cleanly and a shorter one continues", "[unit]") {
  ModelHandle model(DataPath("models/llama2c/stories-long-2k.bin"),
                    DataPath("models/llama2c/tok512.bin"));
  const std::vector<floe_token> tokens = Text(model.m, 1200);
  const int V = floe_model_vocab_size(model.m);

  // Scratch is what an empty state holds; 300 tokens of cache on top of it.
  constexpr uint64_t kBudget = 1 << 20;
  SessionHandle budgeted(model.m, kBudget), free(model.m, 0);
  REQUIRE(budgeted.created == FLOE_OK);
  REQUIRE(free.created == FLOE_OK);

  // 1200 tokens of KV cache alone (2.4 MB) exceed 1 MiB: refused before anything is computed.
  CHECK(floe_session_eval(budgeted.s, tokens.data(), tokens.size()) == FLOE_ERR_OUT_OF_MEMORY);
  const std::string msg = floe_session_last_error(budgeted.s);
  INFO(msg);
  CHECK(msg.find("memory budget of 1048576 bytes") != std::string::npos);
  CHECK(msg.find("1200 more tokens need") != std::string::npos);
  CHECK(floe_session_position(budgeted.s) == 0);

  // A shorter eval works and gives the same logits as a session without a budget.
  REQUIRE(floe_session_eval(budgeted.s, tokens.data(), 200) == FLOE_OK);
  REQUIRE(floe_session_eval(free.s, tokens.data(), 200) == FLOE_OK);
  for (int i = 0; i < V; ++i)
    REQUIRE(floe_session_logits(budgeted.s)[i] == floe_session_logits(free.s)[i]);

  // Past the budget again from position 200: refused, position kept; then continues.
  CHECK(floe_session_eval(budgeted.s, tokens.data() + 200, 1000) == FLOE_ERR_OUT_OF_MEMORY);
  CHECK(floe_session_position(budgeted.s) == 200);
  std::vector<double> nll(1000);
  CHECK(floe_session_score(budgeted.s, tokens.data() + 200, 1000, nll.data()) ==
        FLOE_ERR_OUT_OF_MEMORY);
  CHECK(floe_session_position(budgeted.s) == 200);
  REQUIRE(floe_session_eval(budgeted.s, tokens.data() + 200, 10) == FLOE_OK);
  REQUIRE(floe_session_eval(free.s, tokens.data() + 200, 10) == FLOE_OK);
  for (int i = 0; i < V; ++i)
    REQUIRE(floe_session_logits(budgeted.s)[i] == floe_session_logits(free.s)[i]);

  // The limit is the cache rows: one token at a time, the session stops exactly where the next
  // token's keys and values no longer fit, and that is where a 1200-token eval would have needed
  // 1200 rows more than it had room for.
  size_t pos = floe_session_position(budgeted.s);
  while (floe_session_eval(budgeted.s, &tokens[pos % tokens.size()], 1) == FLOE_OK) ++pos;
  CHECK(floe_session_position(budgeted.s) == pos);
  SessionHandle probe(model.m, kBudget - kKvBytesPerToken);
  REQUIRE(probe.created == FLOE_OK);
  REQUIRE(floe_session_eval(probe.s, tokens.data(), pos - 1) == FLOE_OK);
  CHECK(floe_session_eval(probe.s, tokens.data() + pos - 1, 1) == FLOE_ERR_OUT_OF_MEMORY);
}

TEST_CASE("a budget below an empty state fails at create, and a recurrent state stays constant",
          "[unit]") {
  {
    ModelHandle model(DataPath("models/llama2c/stories-long-2k.bin"),
                      DataPath("models/llama2c/tok512.bin"));
    SessionHandle tiny(model.m, 1000);
    CHECK(tiny.created == FLOE_ERR_OUT_OF_MEMORY);
    CHECK(std::string(floe_last_error()).find("memory budget") != std::string::npos);
  }
  ModelHandle rwkv(DataPath("models/rwkv/tiny-rwkv-6v0-1m-FP32.bin"));
  SessionHandle big(rwkv.m, 0, 0);
  REQUIRE(big.created == FLOE_OK);
  // A budget just large enough for the (constant) state admits any length.
  SessionHandle s(rwkv.m, 64u << 20, 0);
  REQUIRE(s.created == FLOE_OK);
  std::vector<floe_token> bytes(floe::testing::ReleaseOrSanitized(5000, 1500));
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = floe_token('a' + i % 26);
  CHECK(floe_session_eval(s.s, bytes.data(), bytes.size()) == FLOE_OK);
  CHECK(floe_session_eval(s.s, bytes.data(), bytes.size()) == FLOE_OK);
}

TEST_CASE("a saved state larger than the budget is refused at restore, and the session goes on",
          "[unit]") {
  ModelHandle model(DataPath("models/llama2c/stories-long-2k.bin"),
                    DataPath("models/llama2c/tok512.bin"));
  const std::vector<floe_token> tokens = Text(model.m, 800);
  const int V = floe_model_vocab_size(model.m);
  auto save = [](floe_session* s) {
    size_t size = 0;
    REQUIRE(floe_session_state_size(s, &size) == FLOE_OK);
    std::vector<uint8_t> bytes(size);
    REQUIRE(floe_session_state_save(s, bytes.data(), bytes.size(), &size) == FLOE_OK);
    bytes.resize(size);
    return bytes;
  };
  // States of 700 and 150 tokens, saved by a session without a budget.
  SessionHandle free(model.m, 0);
  REQUIRE(floe_session_eval(free.s, tokens.data(), 150) == FLOE_OK);
  const std::vector<uint8_t> short_state = save(free.s);
  REQUIRE(floe_session_eval(free.s, tokens.data() + 150, 550) == FLOE_OK);
  const std::vector<uint8_t> long_state = save(free.s);

  // 1 MiB: scratch and about 300 tokens of cache (700 tokens need 1.4 MB of keys and values).
  constexpr uint64_t kBudget = 1 << 20;
  static_assert(700 * kKvBytesPerToken > kBudget && 150 * kKvBytesPerToken < kBudget / 2);
  SessionHandle budgeted(model.m, kBudget);
  REQUIRE(budgeted.created == FLOE_OK);
  REQUIRE(floe_session_eval(budgeted.s, tokens.data(), 100) == FLOE_OK);
  CHECK(floe_session_state_load(budgeted.s, long_state.data(), long_state.size()) ==
        FLOE_ERR_OUT_OF_MEMORY);
  const std::string msg = floe_session_last_error(budgeted.s);
  INFO(msg);
  CHECK(msg.find("the saved state holds 700 positions") != std::string::npos);
  CHECK(msg.find("memory budget of 1048576 bytes") != std::string::npos);
  // Unchanged: still 100 tokens, and it continues as a session that never saw the state.
  CHECK(floe_session_position(budgeted.s) == 100);
  SessionHandle check(model.m, 0);
  REQUIRE(floe_session_eval(check.s, tokens.data(), 110) == FLOE_OK);
  REQUIRE(floe_session_eval(budgeted.s, tokens.data() + 100, 10) == FLOE_OK);
  for (int i = 0; i < V; ++i)
    REQUIRE(floe_session_logits(budgeted.s)[i] == floe_session_logits(check.s)[i]);
  // A state within the budget restores and continues exactly as the session that saved it.
  REQUIRE(floe_session_state_load(budgeted.s, short_state.data(), short_state.size()) == FLOE_OK);
  CHECK(floe_session_position(budgeted.s) == 150);
  SessionHandle again(model.m, 0);
  REQUIRE(floe_session_eval(again.s, tokens.data(), 160) == FLOE_OK);
  REQUIRE(floe_session_eval(budgeted.s, tokens.data() + 150, 10) == FLOE_OK);
  for (int i = 0; i < V; ++i)
    REQUIRE(floe_session_logits(budgeted.s)[i] == floe_session_logits(again.s)[i]);
}
