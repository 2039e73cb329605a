// Helpers shared by the kNN-attention model tests (ice_model_test, faiss_model_test): the
// stories260K model, TinyStories token ids, sessions, a sparse-attention setting that
// activates the kNN path from the first positions, and logits comparisons.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include <catch2/catch.hpp>

#include "attention/attention_probe.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"
#include "test_data.h"

namespace floe::testing {

inline std::unique_ptr<Model> Stories260K() {
  LoadOptions o;
  o.tokenizer_path = DataPath("models/llama2c/tok512.bin");
  auto m = Model::Load(DataPath("models/llama2c/stories260K.bin"), o);
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  return std::move(m).value();
}

// The first n token ids of TinyStories validation text.
inline std::vector<int32_t> StoryTokens(const Model& m, size_t n) {
  std::ifstream in(DataPath("corpora/tinystories-valid-head.txt"));
  std::stringstream ss;
  ss << in.rdbuf();
  auto ids = m.tokenizer()->Encode(ss.str().substr(0, 8 * n), true);
  REQUIRE(ids.size() >= n);
  ids.resize(n);
  return ids;
}

inline std::unique_ptr<Session> NewSession(const Model& m, const SessionParams& p) {
  auto s = Session::Create(m, p);
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  return std::move(s).value();
}

// kNN path active from the first positions: small k, window and sinks, no dense prefix.
inline SessionParams SparseKnn(AttentionBackend backend) {
  SessionParams p;
  p.attention.backend = backend;
  p.attention.k = 8;
  p.attention.window = 16;
  p.attention.sinks = 2;
  p.attention.dense_below = 0;
  return p;
}

inline std::vector<float> Logits(const Session& s) {
  return {s.logits().begin(), s.logits().end()};
}

inline float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// Save -> restore -> continue and fork after prefix `a` reproduce the uninterrupted run over
// a then b bit for bit; returns the last logits of `whole` and of a session restored from the
// saved state that decodes b token by token, and every row of b in both (whole_rows: a then b
// in two chunks with all logits; token_rows: the restored session's logits after each token of
// b), b.size() x vocabulary each (the caller bounds their difference).
struct RestoreRun {
  std::vector<float> whole, token_by_token;
  std::vector<float> whole_rows, token_rows;
};
inline RestoreRun CheckRestoreAndFork(const Model& model, const SessionParams& p,
                                      std::span<const int32_t> a, std::span<const int32_t> b) {
  auto whole = NewSession(model, p);
  REQUIRE(whole->Eval(a).ok());
  REQUIRE(whole->Eval(b).ok());
  auto first = NewSession(model, p);
  REQUIRE(first->Eval(a).ok());
  std::vector<uint8_t> bytes;
  REQUIRE(first->SaveState(&bytes).ok());
  auto fork = first->Fork();
  REQUIRE(fork.ok());
  auto second = NewSession(model, p);
  REQUIRE(second->RestoreState(bytes).ok());
  CHECK(Logits(*second) == Logits(*first));
  REQUIRE(second->Eval(b).ok());
  CHECK(Logits(*second) == Logits(*whole));
  REQUIRE((*fork)->Eval(b).ok());
  CHECK(Logits(**fork) == Logits(*whole));
  // Token by token from the restored state too (decode steps insert one key each).
  auto third = NewSession(model, p);
  REQUIRE(third->RestoreState(bytes).ok());
  RestoreRun run;
  for (int32_t t : b) {
    REQUIRE(third->Eval(std::span<const int32_t>(&t, 1)).ok());
    run.token_rows.insert(run.token_rows.end(), third->logits().begin(), third->logits().end());
  }
  auto rows = NewSession(model, p);
  REQUIRE(rows->Eval(a).ok());
  REQUIRE(rows->Eval(b, /*all_logits=*/true).ok());
  run.whole_rows = rows->all_logits();
  REQUIRE(run.whole_rows.size() == run.token_rows.size());
  run.whole = Logits(*whole);
  run.token_by_token = Logits(*third);
  return run;
}

// Cancels its session from inside layer 2 once armed (for a position >= from).
struct CancelAtLayer2 : AttentionProbe {
  Session* session = nullptr;
  size_t from = 0;
  std::atomic<bool> armed{false};
  bool Wants(size_t layer, size_t, size_t pos) const override {
    return armed && layer == 2 && pos >= from;
  }
  void Record(const AttentionProbeEvent&) override {
    if (armed.exchange(false)) session->RequestCancel();
  }
};

// A chunk b (after prefix a) cancelled between layers leaves no stale keys in the kNN index:
// layers 0-2 index the chunk's keys, the cancel stops it before layer 3; other tokens at the
// same positions then must not retrieve them, and after Reset the session reproduces the
// uninterrupted run bit for bit.
inline void CheckInterruptedChunk(const Model& model, SessionParams p, std::span<const int32_t> a,
                                  std::span<const int32_t> b) {
  auto whole = NewSession(model, p);
  REQUIRE(whole->Eval(a).ok());
  REQUIRE(whole->Eval(b).ok());
  CancelAtLayer2 probe;
  p.attention_probe = &probe;
  auto s = NewSession(model, p);
  probe.session = s.get();
  REQUIRE(s->Eval(a).ok());
  probe.from = a.size();
  probe.armed = true;
  CHECK(s->Eval(b).code() == StatusCode::kCancelled);
  CHECK(s->position() == a.size());
  std::vector<int32_t> other(b.begin(), b.end());
  for (auto& t : other) t = (t * 7 + 3) % 512;
  REQUIRE(s->Eval(std::span<const int32_t>(other.data(), other.size() / 2)).ok());
  s->Reset();
  REQUIRE(s->Eval(a).ok());
  REQUIRE(s->Eval(b).ok());
  CHECK(Logits(*s) == Logits(*whole));
}

}  // namespace floe::testing
