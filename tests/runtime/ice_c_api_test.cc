// IceFormer attention through the C API: defaults, clear errors for bad settings (unknown
// backend, k = 0, window beyond the context, bad FAISS parameters), struct_size versioning
// (a caller built before the attention fields gets dense attention; one built before the
// FAISS fields gets the FAISS defaults), and ice and faiss sessions whose window covers the
// context giving the dense logits.
#include <cmath>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "floe/floe.h"
#include "test_data.h"

using floe::testing::DataPath;

namespace {

floe_model* Load() {
  floe_model_params p = floe_model_default_params();
  const std::string tok = DataPath("models/llama2c/tok512.bin");
  p.tokenizer_path = tok.c_str();
  floe_model* m = nullptr;
  REQUIRE(floe_model_load(DataPath("models/llama2c/stories260K.bin").c_str(), &p, &m) == FLOE_OK);
  return m;
}

// Creates a session and expects `code` with `words` in floe_last_error().
void ExpectError(floe_model* m, const floe_session_params& p, floe_status code,
                 const std::string& words) {
  floe_session* s = nullptr;
  const floe_status st = floe_session_create(m, &p, &s);
  INFO(floe_last_error());
  CHECK(st == code);
  CHECK(s == nullptr);
  CHECK(std::string(floe_last_error()).find(words) != std::string::npos);
}

std::vector<float> EvalLogits(floe_model* m, const floe_session_params& p,
                              const std::vector<floe_token>& ids) {
  floe_session* s = nullptr;
  REQUIRE(floe_session_create(m, &p, &s) == FLOE_OK);
  REQUIRE(floe_session_eval(s, ids.data(), ids.size()) == FLOE_OK);
  const float* l = floe_session_logits(s);
  std::vector<float> out(l, l + floe_model_vocab_size(m));
  floe_session_free(s);
  return out;
}

}  // namespace

TEST_CASE("C API: attention defaults and bad settings", "[unit]") {
  floe_model* m = Load();
  const floe_session_params d = floe_session_default_params();
  CHECK(d.attention == FLOE_ATTENTION_DENSE);
  CHECK(d.knn_k == 32);
  CHECK(d.knn_window == 256);
  CHECK(d.knn_sinks == 4);
  CHECK(d.knn_dense_below == 1024);
  CHECK(d.knn_simple_indices == 2);
  CHECK(d.knn_composite_indices == 8);
  CHECK(d.knn_candidates_per_k == 8);
  CHECK(d.knn_search_block == 16);
  CHECK(d.knn_search_scale == 1.25f);
  CHECK(d.knn_levels == 2);
  CHECK(d.knn_fanout == 32);

  floe_session_params p = d;
  p.attention = FLOE_ATTENTION_ICE;
  p.knn_k = 0;
  ExpectError(m, p, FLOE_ERR_INVALID_ARGUMENT,
              "ice attention: k (keys retrieved per query) must be at least 1");
  p = d;
  p.attention = FLOE_ATTENTION_ICE;
  p.context_length = 200;
  ExpectError(m, p, FLOE_ERR_INVALID_ARGUMENT, "window 256 is larger than the context length 200");
  p = d;
  p.attention = 42;
  ExpectError(m, p, FLOE_ERR_INVALID_ARGUMENT, "unknown attention backend 42");
#ifdef FLOE_TEST_WITH_FAISS
  CHECK(d.faiss_kind == FLOE_FAISS_HNSW);
  CHECK(d.faiss_hnsw_m == 16);
  CHECK(d.faiss_ef_search == 256);
  CHECK(d.faiss_ef_construction == 200);
  p = d;
  p.attention = FLOE_ATTENTION_FAISS;
  p.faiss_kind = 9;
  ExpectError(m, p, FLOE_ERR_INVALID_ARGUMENT, "faiss attention: unknown FAISS index kind 9");
  p = d;
  p.attention = FLOE_ATTENTION_FAISS;
  p.faiss_hnsw_m = 1;
  ExpectError(m, p, FLOE_ERR_INVALID_ARGUMENT,
              "faiss attention: HNSW M (graph degree) must be in [2, 256], not 1");
  p = d;
  p.attention = FLOE_ATTENTION_FAISS;
  p.faiss_ef_search = 0;
  ExpectError(m, p, FLOE_ERR_INVALID_ARGUMENT, "HNSW efSearch must be in [1, 65536], not 0");
  p = d;
  p.attention = FLOE_ATTENTION_FAISS;
  p.knn_k = 0;
  ExpectError(m, p, FLOE_ERR_INVALID_ARGUMENT,
              "faiss attention: k (keys retrieved per query) must be at least 1");
#else
  p.attention = FLOE_ATTENTION_FAISS;
  ExpectError(m, p, FLOE_ERR_UNSUPPORTED, "built without FAISS");
#endif
  p = d;
  p.attention = FLOE_ATTENTION_ICE;
  p.knn_composite_indices = 0;
  ExpectError(m, p, FLOE_ERR_INVALID_ARGUMENT, "composite indices");
  p = d;
  p.attention = FLOE_ATTENTION_ICE;
  p.knn_search_block = 0;
  ExpectError(
      m, p, FLOE_ERR_INVALID_ARGUMENT,
      "ice attention: search block (queries per shared kNN search) must be in [1, 1024], not 0");
  p = d;
  p.attention = FLOE_ATTENTION_ICE;
  p.knn_search_scale = 0.5f;
  ExpectError(m, p, FLOE_ERR_INVALID_ARGUMENT, "ice attention: search scale");
  p = d;
  p.attention = FLOE_ATTENTION_ICE;
  p.knn_levels = 9;
  ExpectError(m, p, FLOE_ERR_INVALID_ARGUMENT,
              "ice attention: DCI levels must be in [1, 4], not 9");
  p.knn_levels = 2;
  p.knn_fanout = 1;
  ExpectError(m, p, FLOE_ERR_INVALID_ARGUMENT, "fanout");
  floe_model_free(m);
}

TEST_CASE("C API: a caller built before the attention fields gets dense attention", "[unit]") {
  floe_model* m = Load();
  floe_session_params p = floe_session_default_params();
  p.struct_size = uint32_t(offsetof(floe_session_params, attention));
  p.attention = 42;  // beyond the caller's struct: must not be read
  p.knn_k = 0;
  const std::vector<floe_token> ids = {1, 403, 407, 261, 300};
  const auto old_caller = EvalLogits(m, p, ids);
  const auto dense = EvalLogits(m, floe_session_default_params(), ids);
  CHECK(old_caller == dense);
  floe_model_free(m);
}

TEST_CASE("C API: an ice session covering the whole context gives the dense logits", "[unit]") {
  floe_model* m = Load();
  std::vector<floe_token> ids(300);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = floe_token(i == 0 ? 1 : 3 + (i * 37) % 500);
  floe_session_params p = floe_session_default_params();
  p.attention = FLOE_ATTENTION_ICE;
  p.knn_dense_below = 0;
  p.knn_k = 64;  // 4 sinks + 256 window + 64 retrieved >= 300 keys
  const auto ice = EvalLogits(m, p, ids);
  const auto dense = EvalLogits(m, floe_session_default_params(), ids);
  float diff = 0;
  for (size_t i = 0; i < ice.size(); ++i) diff = std::max(diff, std::fabs(ice[i] - dense[i]));
  CHECK(diff <= 1e-5f);
  floe_model_free(m);
}

#ifdef FLOE_TEST_WITH_FAISS
TEST_CASE("C API: faiss sessions covering the whole context give the dense logits", "[unit]") {
  floe_model* m = Load();
  std::vector<floe_token> ids(300);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = floe_token(i == 0 ? 1 : 3 + (i * 37) % 500);
  const auto dense = EvalLogits(m, floe_session_default_params(), ids);
  for (int32_t kind : {FLOE_FAISS_FLAT, FLOE_FAISS_HNSW}) {
    floe_session_params p = floe_session_default_params();
    p.attention = FLOE_ATTENTION_FAISS;
    p.faiss_kind = kind;
    p.knn_dense_below = 0;
    p.knn_k = 64;  // 4 sinks + 256 window + 64 retrieved >= 300 keys
    const auto knn = EvalLogits(m, p, ids);
    float diff = 0;
    for (size_t i = 0; i < knn.size(); ++i) diff = std::max(diff, std::fabs(knn[i] - dense[i]));
    INFO("kind " << kind);
    CHECK(diff <= 1e-5f);
  }
  floe_model_free(m);
}

// The FAISS fields hold values other than the defaults beyond the caller's struct: if they
// were read, the session would search another graph (M 2, efSearch 1) and its logits differ.
static floe_session_params OldFaissCaller() {
  floe_session_params p = floe_session_default_params();
  p.struct_size = uint32_t(offsetof(floe_session_params, faiss_kind));
  p.attention = FLOE_ATTENTION_FAISS;
  p.context_length = 300;
  p.knn_dense_below = 0;  // the kNN path from the first positions
  p.knn_k = 8;
  p.knn_window = 16;
  p.knn_sinks = 2;
  p.faiss_kind = FLOE_FAISS_HNSW;
  p.faiss_hnsw_m = 2;
  p.faiss_ef_search = 1;
  p.faiss_ef_construction = 8;
  return p;
}

TEST_CASE("C API: a caller built before the FAISS fields gets the FAISS defaults' logits",
          "[unit]") {
  floe_model* m = Load();
  std::vector<floe_token> ids(300);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = floe_token(i == 0 ? 1 : 3 + (i * 37) % 500);
  const floe_session_params old_caller = OldFaissCaller();
  floe_session_params defaults = floe_session_default_params();
  defaults.attention = FLOE_ATTENTION_FAISS;
  defaults.context_length = 300;
  defaults.knn_dense_below = 0;
  defaults.knn_k = 8;
  defaults.knn_window = 16;
  defaults.knn_sinks = 2;
  floe_session_params read = old_caller;  // the same values, inside the struct
  read.struct_size = sizeof(floe_session_params);
  const auto old_logits = EvalLogits(m, old_caller, ids);
  CHECK(old_logits == EvalLogits(m, defaults, ids));
  CHECK(old_logits != EvalLogits(m, read, ids));  // the fields' values do change the logits
  floe_model_free(m);
}
#endif

#ifndef FLOE_TEST_WITH_FAISS
TEST_CASE("C API: built without FAISS, a caller built before the FAISS fields gets unsupported",
          "[unit]") {
  floe_model* m = Load();
  floe_session_params p = floe_session_default_params();
  p.struct_size = uint32_t(offsetof(floe_session_params, faiss_kind));
  p.attention = FLOE_ATTENTION_FAISS;
  p.context_length = 300;
  floe_session* s = nullptr;
  CHECK(floe_session_create(m, &p, &s) == FLOE_ERR_UNSUPPORTED);
  CHECK(s == nullptr);
  CHECK(std::string(floe_last_error()) ==
        "unsupported: attention backend 'faiss': floe was built without FAISS "
        "(FLOE_WITH_FAISS=OFF); use "
        "dense or ice");
  floe_model_free(m);
}
#endif
