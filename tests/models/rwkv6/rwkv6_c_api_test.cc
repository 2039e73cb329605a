// The C API serves RWKV-6 models unchanged: load an rwkv.cpp file, tokenize, evaluate, read the
// logits (against rwkv.cpp's expected logits), save/restore the state and fork, through floe.h.
// Plus the official-format binder's errors on a damaged .pth state dict.
#include <cmath>
#include <fstream>

#include "floe/floe.h"
#include "models/rwkv6/rwkv6_weights.h"
#include "runtime/formats/checkpoint/torch_checkpoint.h"
#include "test_data.h"

using floe::testing::DataPath;

TEST_CASE("C API: RWKV-6 load, eval, logits, state, fork", "[model]") {
  floe_model* model = nullptr;
  const floe_model_params mp = floe_model_default_params();
  REQUIRE(floe_model_load(DataPath("models/rwkv/tiny-rwkv-6v0-1m-FP32.bin").c_str(), &mp, &model) ==
          FLOE_OK);
  CHECK(floe_model_vocab_size(model) == 256);
  floe_token ids[8];
  size_t n = 0;
  REQUIRE(floe_tokenize(model, "\"in", 3, 0, ids, 8, &n) == FLOE_OK);
  REQUIRE(n == 3);
  CHECK(ids[0] == 34);
  floe_session* s = nullptr;
  const floe_session_params sp = floe_session_default_params();
  REQUIRE(floe_session_create(model, &sp, &s) == FLOE_OK);
  REQUIRE(floe_session_eval(s, ids, 1) == FLOE_OK);
  size_t size = 0;
  REQUIRE(floe_session_state_size(s, &size) == FLOE_OK);
  std::vector<uint8_t> state(size);
  REQUIRE(floe_session_state_save(s, state.data(), state.size(), &size) == FLOE_OK);
  floe_session* fork = nullptr;
  REQUIRE(floe_session_fork(s, &fork) == FLOE_OK);
  REQUIRE(floe_session_eval(s, ids + 1, 2) == FLOE_OK);

  std::ifstream f(DataPath("golden/expected-logits-6v0-1m.bin"), std::ios::binary);
  std::vector<float> expected(256);
  f.read(reinterpret_cast<char*>(expected.data()), 256 * 4);
  REQUIRE(f.good());
  auto max_diff = [&](const float* got) {
    float m = 0.0f;
    for (size_t i = 0; i < 256; ++i) m = std::max(m, std::fabs(got[i] - expected[i]));
    return m;
  };
  CHECK(max_diff(floe_session_logits(s)) <= 1e-4f);
  REQUIRE(floe_session_eval(fork, ids + 1, 2) == FLOE_OK);
  CHECK(max_diff(floe_session_logits(fork)) <= 1e-4f);
  floe_session_reset(s);
  REQUIRE(floe_session_state_load(s, state.data(), state.size()) == FLOE_OK);
  CHECK(floe_session_position(s) == 1);
  REQUIRE(floe_session_eval(s, ids + 1, 2) == FLOE_OK);
  CHECK(max_diff(floe_session_logits(s)) <= 1e-4f);
  floe_session_free(fork);
  floe_session_free(s);
  floe_model_free(model);
}

TEST_CASE("official RWKV-6 checkpoint missing or misshaping a tensor is a clear error", "[model]") {
  std::ifstream f(DataPath("reference/rwkv6/model.pth"), std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)),
                                   std::istreambuf_iterator<char>());
  auto set = floe::ReadTorchCheckpoint(bytes.data(), bytes.size());
  REQUIRE(set.ok());
  REQUIRE(floe::BindRwkv6(*set, floe::Rwkv6Layout::kOfficial).ok());
  // The same tensors read as if rwkv.cpp had written them: the LoRA shapes do not fit.
  auto wrong_layout = floe::BindRwkv6(*set, floe::Rwkv6Layout::kRwkvCpp);
  REQUIRE_FALSE(wrong_layout.ok());
  CHECK_THAT(wrong_layout.status().ToString(), Catch::Contains("time_maa_w1"));
  for (const char* name :
       {"blocks.1.att.time_decay_w2", "ln_out.bias", "head.weight", "blocks.2.ffn.value.weight"}) {
    auto damaged = *set;
    for (auto& t : damaged.tensors)
      if (t.name == name) t.name += ".renamed";
    auto r = floe::BindRwkv6(damaged, floe::Rwkv6Layout::kOfficial);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().ToString(), Catch::Contains(name) && Catch::Contains("missing"));
  }
  auto misshapen = *set;
  for (auto& t : misshapen.tensors)
    if (t.name == "blocks.0.att.key.weight") t.shape = {32, 128};
  auto r = floe::BindRwkv6(misshapen, floe::Rwkv6Layout::kOfficial);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.status().ToString(),
             Catch::Contains("blocks.0.att.key.weight") && Catch::Contains("shape"));
}
