// Head plans in sessions, on stories-long-2k (4 layers, 2 KV heads, GQA) and War and Peace:
//   - the JSON file format refuses hostile and mistaken documents with messages naming the
//     place (unknown modes and keys, a window of 0, wrong types, negative or huge numbers,
//     fields that do not belong to the mode, malformed JSON), and round-trips what it writes;
//   - sessions refuse plans naming heads the model lacks, recurrent heads in a Llama, and any
//     plan for a model without attention heads (RWKV-6), through C++ and the C API;
//   - an all-dense plan and a plan of windows that cover the context give dense's logits;
//   - a mixed plan (dense, knn, window) keeps its state through save -> restore -> continue
//     and fork exactly as the uninterrupted run; a plain state continues under a plan (an
//     all-dense plan exactly as dense); a planned state continues without a plan or under
//     another plan when its heads kept what the new modes need (as dense attention, and equal
//     to converting through the plain state), and is refused, naming the head, when not;
//     window heads shrink the cache.
#include <cmath>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "attention/knn/ice_reference.h"
#include "floe/floe.h"
#include "runtime/engine/head_plan_json.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;

namespace {

std::unique_ptr<Model> StoriesLong() {
  LoadOptions o;
  o.tokenizer_path = DataPath("models/llama2c/tok512.bin");
  auto m = Model::Load(DataPath("models/llama2c/stories-long-2k.bin"), o);
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  return std::move(m).value();
}

// n tokens of War and Peace (BOS first), from a quarter into the book.
std::vector<int32_t> Text(const Model& m, size_t n) {
  std::ifstream in(DataPath("corpora/war-and-peace.txt"), std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string t = ss.str();
  auto ids = m.tokenizer()->Encode(t.substr(t.size() / 4, 6 * n), true);
  REQUIRE(ids.size() >= n);
  ids.resize(n);
  return ids;
}

HeadPlan Parse(const std::string& json) {
  auto p = ParseHeadPlanJson(json);
  INFO(json << "\n" << p.status().ToString());
  REQUIRE(p.ok());
  return *p;
}

std::unique_ptr<Session> New(const Model& m, const SessionParams& p) {
  auto s = Session::Create(m, p);
  INFO(s.status().ToString());
  REQUIRE(s.ok());
  return std::move(s).value();
}

std::vector<float> Logits(const Session& s) { return {s.logits().begin(), s.logits().end()}; }

float MaxDiff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

const char* kMixed = R"({"format": "floe-head-plan", "version": 1,
  "default": {"mode": "dense"},
  "heads": [{"layer": 0, "head": 0, "mode": "window", "window": 16},
            {"layer": 1, "head": 1, "mode": "knn", "k": 8, "window": 32, "sinks": 2},
            {"layer": 2, "head": 0, "mode": "window", "window": 100},
            {"layer": 3, "head": 1, "mode": "knn"}]})";

}  // namespace

TEST_CASE("head plan JSON: hostile and mistaken documents are clear errors", "[unit]") {
  const std::pair<const char*, const char*> bad[] = {
      {R"({"heads": [{"layer": 0, "head": 0, "mode": "sparse"}]})", "heads[0]: unknown head mode 'sparse'"},
      {R"({"heads": [{"layer": 0, "head": 0, "mode": "window", "window": 0}]})", ""},  // Resolve's
      {R"({"heads": [{"layer": 0, "head": 0, "mode": "window"}]})", "a window head needs 'window'"},
      {R"({"heads": [{"layer": 0, "head": 0, "mode": "dense", "k": 4}]})", "'k' does not apply to mode 'dense'"},
      {R"({"heads": [{"layer": 0, "head": 0, "mode": "knn", "windw": 4}]})", "unknown key 'windw'"},
      {R"({"heads": [{"layer": -1, "head": 0, "mode": "dense"}]})", "'layer' = -1 is out of range"},
      {R"({"heads": [{"layer": 1e30, "head": 0, "mode": "dense"}]})", "'layer' must be a whole number"},
      {R"({"heads": [{"layer": 0.5, "head": 0, "mode": "dense"}]})", "'layer' must be a whole number, got a fraction"},
      {R"({"heads": [{"layer": 0, "head": 99999999999, "mode": "dense"}]})", "out of range"},
      {R"({"heads": [{"layer": 0, "head": 0, "mode": 3}]})", "'mode' must be a string"},
      {R"({"heads": [{"layer": 0, "head": 0}]})", "'mode' is missing"},
      {R"({"heads": [{"head": 0, "mode": "dense"}]})", "'layer' and 'head' are required"},
      {R"({"heads": {"layer": 0}})", "'heads' must be an array"},
      {R"({"heads": [7]})", "heads[0]: expected an object"},
      {R"({"heads": [], "extra": 1})", "unknown key 'extra'"},
      {R"({"version": 2, "heads": []})", "unsupported 'version'"},
      {R"({"format": "other", "heads": []})", "'format' must be"},
      {R"({})", "neither 'default' nor 'heads'"},
      {R"([1, 2])", "must be a JSON object"},
      {R"({"heads": [{"layer": 0, "head": 0, "mode": "dense"},])", "head plan: json"},
      {R"({"heads": [{"layer": 0, "head": 0, "mode": "dense", "mode": "knn"}]})", "head plan: json"},
      {"", "head plan: json"},
      {R"({"heads": [[[[[[[[[[[[]]]]]]]]]]]]})", "head plan: json"},
  };
  for (const auto& [doc, words] : bad) {
    auto p = ParseHeadPlanJson(doc);
    INFO(doc);
    if (std::string(words).empty()) {  // parses; the session refuses it
      CHECK(p.ok());
      continue;
    }
    REQUIRE_FALSE(p.ok());
    INFO(p.status().message());
    CHECK(p.status().code() == StatusCode::kInvalidArgument);
    CHECK(p.status().message().find(words) != std::string::npos);
  }
  auto missing = LoadHeadPlanFile("/nonexistent/plan.json");
  CHECK(missing.status().code() == StatusCode::kNotFound);
}

TEST_CASE("head plan JSON: what HeadPlanToJson writes parses back", "[unit]") {
  const HeadPlan p = Parse(kMixed);
  REQUIRE(p.heads.size() == 4);
  CHECK(p.heads[1].spec == HeadSpec{HeadMode::kKnn, 8, 32, 2});
  CHECK(p.heads[3].spec == HeadSpec{HeadMode::kKnn, 32, 256, 4});  // AttentionSettings' defaults
  const HeadPlan q = Parse(HeadPlanToJson(p, {{"note", "\"x\""}, {"top1", "0.99"}}));
  REQUIRE(q.heads.size() == p.heads.size());
  for (size_t i = 0; i < p.heads.size(); ++i) {
    CHECK(q.heads[i].layer == p.heads[i].layer);
    CHECK(q.heads[i].head == p.heads[i].head);
    CHECK(q.heads[i].spec == p.heads[i].spec);
  }
}

TEST_CASE("sessions refuse plans the model cannot take", "[unit]") {
  auto m = StoriesLong();
  auto expect = [&](const std::string& json, const std::string& words) {
    SessionParams p;
    p.context_length = 256;
    p.head_plan = Parse(json);
    auto s = Session::Create(*m, p);
    REQUIRE_FALSE(s.ok());
    INFO(s.status().message());
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
    CHECK(s.status().message().find(words) != std::string::npos);
  };
  expect(R"({"heads": [{"layer": 4, "head": 0, "mode": "dense"}]})",
         "names layer 4 head 0, but the model has 4 layers");
  expect(R"({"heads": [{"layer": 0, "head": 2, "mode": "dense"}]})", "has 2 KV heads per layer");
  expect(R"({"heads": [{"layer": 0, "head": 0, "mode": "window", "window": 0}]})",
         "layer 0 head 0: a window head needs a window of at least 1 key, not 0");
  expect(R"({"heads": [{"layer": 1, "head": 1, "mode": "recurrent"}]})",
         "mode 'recurrent' needs a model with recurrent blocks");
  expect(R"({"heads": [{"layer": 1, "head": 1, "mode": "knn", "window": 300}]})",
         "knn window 300 is larger than the context length 256");

  // A recurrent model has no heads to plan.
  auto rwkv = Model::Load(DataPath("models/rwkv/tiny-rwkv-6v0-1m-FP32.bin"));
  REQUIRE(rwkv.ok());
  SessionParams p;
  p.head_plan = Parse(R"({"default": {"mode": "dense"}})");
  auto s = Session::Create(**rwkv, p);
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().find("does not take a head plan") != std::string::npos);
}

TEST_CASE("plans that keep every key give dense attention's logits", "[unit]") {
  auto m = StoriesLong();
  const auto ids = Text(*m, 300);
  SessionParams dense;
  dense.context_length = 512;
  auto d = New(*m, dense);
  REQUIRE(d->Eval(ids).ok());
  for (const char* json : {R"({"default": {"mode": "dense"}})",
                           R"({"default": {"mode": "window", "window": 512}})",
                           R"({"default": {"mode": "knn", "window": 400, "sinks": 4}})"}) {
    SessionParams p = dense;
    p.head_plan = Parse(json);
    auto s = New(*m, p);
    REQUIRE(s->Eval(ids).ok());
    INFO(json);
    CHECK(MaxDiff(Logits(*d), Logits(*s)) < 1e-4f);
  }
}

TEST_CASE("a mixed plan: save -> restore -> continue and fork equal the uninterrupted run",
          "[unit]") {
  auto m = StoriesLong();
  const auto ids = Text(*m, 400);
  const std::span<const int32_t> a(ids.data(), 250), b(ids.data() + 250, 150);
  for (DType kv : {DType::kF32, DType::kF16}) {
    SessionParams p;
    p.context_length = 512;
    p.kv_dtype = kv;
    p.attention.dense_below = 64;  // the knn heads search from position 64 on
    p.head_plan = Parse(kMixed);
    auto whole = New(*m, p);
    REQUIRE(whole->Eval(a).ok());
    REQUIRE(whole->Eval(b).ok());

    auto first = New(*m, p);
    REQUIRE(first->Eval(a).ok());
    std::vector<uint8_t> bytes;
    REQUIRE(first->SaveState(&bytes).ok());
    auto fork = first->Fork();
    REQUIRE(fork.ok());
    SessionParams other = p;
    other.batch = 7;  // another ring length for the window heads
    auto restored = New(*m, other);
    REQUIRE(restored->RestoreState(bytes).ok());
    CHECK(restored->position() == a.size());
    REQUIRE(restored->Eval(b).ok());
    REQUIRE((*fork)->Eval(b).ok());
    REQUIRE(first->Eval(b).ok());
    CHECK(MaxDiff(Logits(*whole), Logits(*first)) == 0.0f);
    CHECK(MaxDiff(Logits(*whole), Logits(**fork)) == 0.0f);
    CHECK(MaxDiff(Logits(*whole), Logits(*restored)) < 1e-4f);  // other chunking, same keys

    // Its window heads have dropped keys a session without a plan needs: refused, naming one.
    SessionParams plain = p;
    plain.head_plan.reset();
    auto no_plan = New(*m, plain);
    const Status st = no_plan->RestoreState(bytes);
    CHECK_FALSE(st.ok());
    CHECK(st.message().find("layer 0 head 0 was saved as window(16)") != std::string::npos);
    CHECK(no_plan->position() == 0);
  }
}

TEST_CASE("a planned state continues without the plan or under another plan", "[unit]") {
  auto m = StoriesLong();
  const auto ids = Text(*m, 400);
  const std::span<const int32_t> a(ids.data(), 250), b(ids.data() + 250, 150);
  SessionParams dense;
  dense.context_length = 512;
  dense.attention.dense_below = 64;
  auto whole = New(*m, dense);
  REQUIRE(whole->Eval(a).ok());
  REQUIRE(whole->Eval(b).ok());
  // Saved under a plan whose heads all keep every position so far (windows of 300 hold 250).
  SessionParams keeps_all = dense;
  keeps_all.head_plan = Parse(R"({"default": {"mode": "window", "window": 300},
      "heads": [{"layer": 1, "head": 0, "mode": "dense"}, {"layer": 2, "head": 1, "mode": "knn"}]})");
  auto saver = New(*m, keeps_all);
  REQUIRE(saver->Eval(a).ok());
  std::vector<uint8_t> planned_bytes;
  REQUIRE(saver->SaveState(&planned_bytes).ok());

  // Into a session without a plan: every key is there, so it continues as dense attention.
  auto plain = New(*m, dense);
  REQUIRE(plain->RestoreState(planned_bytes).ok());
  CHECK(plain->position() == a.size());
  std::vector<uint8_t> plain_bytes;
  REQUIRE(plain->SaveState(&plain_bytes).ok());
  REQUIRE(plain->Eval(b).ok());
  CHECK(MaxDiff(Logits(*whole), Logits(*plain)) < 1e-4f);

  // Into a plan with narrower windows and other modes: the same as converting through the
  // plain state (two readers of the saved heads, one result).
  SessionParams narrower = dense;
  narrower.head_plan = Parse(kMixed);
  auto direct = New(*m, narrower);
  REQUIRE(direct->RestoreState(planned_bytes).ok());
  auto via_plain = New(*m, narrower);
  REQUIRE(via_plain->RestoreState(plain_bytes).ok());
  REQUIRE(direct->Eval(b).ok());
  REQUIRE(via_plain->Eval(b).ok());
  CHECK(direct->position() == ids.size());
  CHECK(MaxDiff(Logits(*direct), Logits(*via_plain)) == 0.0f);

  // A window head saved with 16 keys cannot become a window of 32, nor a dense head: refused
  // before anything changes, and the session goes on.
  std::vector<uint8_t> mixed_bytes;
  REQUIRE(direct->SaveState(&mixed_bytes).ok());
  for (const char* head0 : {R"({"layer": 0, "head": 0, "mode": "window", "window": 32})",
                            R"({"layer": 0, "head": 0, "mode": "dense"})"}) {
    SessionParams wider = dense;
    wider.head_plan = Parse(std::string(R"({"heads": [)") + head0 + "]}");
    auto w = New(*m, wider);
    REQUIRE(w->Eval(a).ok());
    const Status st = w->RestoreState(mixed_bytes);
    INFO(st.ToString());
    CHECK(st.code() == StatusCode::kInvalidArgument);
    CHECK(st.message().find("layer 0 head 0 was saved as window(16), which keeps the last 16 of "
                            "400 positions") != std::string::npos);
    CHECK(w->position() == a.size());
    CHECK(w->Eval(b).ok());
  }
  // Narrower still: a window of 8 from the saved 16 restores.
  SessionParams eight = dense;
  eight.head_plan = Parse(R"({"heads": [{"layer": 0, "head": 0, "mode": "window", "window": 8},
      {"layer": 1, "head": 1, "mode": "window", "window": 20},
      {"layer": 2, "head": 0, "mode": "window", "window": 100},
      {"layer": 3, "head": 1, "mode": "window", "window": 64}]})");
  auto e = New(*m, eight);
  REQUIRE(e->RestoreState(mixed_bytes).ok());
  CHECK(e->position() == ids.size());
}

TEST_CASE("a state saved without a plan continues under one", "[unit]") {
  auto m = StoriesLong();
  const auto ids = Text(*m, 300);
  const std::span<const int32_t> a(ids.data(), 200), b(ids.data() + 200, 100);
  SessionParams dense;
  dense.context_length = 512;
  auto whole = New(*m, dense);
  REQUIRE(whole->Eval(a).ok());
  std::vector<uint8_t> bytes;
  REQUIRE(whole->SaveState(&bytes).ok());
  REQUIRE(whole->Eval(b).ok());
  // An all-dense plan continues exactly as dense attention does.
  SessionParams all_dense = dense;
  all_dense.head_plan = Parse(R"({"default": {"mode": "dense"}})");
  auto converted = New(*m, all_dense);
  REQUIRE(converted->RestoreState(bytes).ok());
  REQUIRE(converted->Eval(b).ok());
  CHECK(MaxDiff(Logits(*whole), Logits(*converted)) < 1e-4f);
  // A mixed plan takes the state (window heads keep their last W keys) and goes on.
  SessionParams mixed = dense;
  mixed.head_plan = Parse(kMixed);
  auto m2 = New(*m, mixed);
  REQUIRE(m2->RestoreState(bytes).ok());
  CHECK(m2->position() == a.size());
  REQUIRE(m2->Eval(b).ok());
  CHECK(m2->position() == ids.size());
}

TEST_CASE("window heads shrink the cache", "[unit]") {
  auto m = StoriesLong();
  SessionParams dense;
  dense.context_length = 2048;
  SessionParams windows = dense;
  windows.head_plan = Parse(R"({"default": {"mode": "window", "window": 64}})");
  auto d = New(*m, dense);
  auto w = New(*m, windows);
  // 4 layers x 2 heads x 32 dims x (K + V) x 4 bytes per position: 2048 positions vs 64 + 63.
  CHECK(d->cache_bytes() == 4 * 2 * 32 * 2 * 4 * 2048);
  CHECK(w->cache_bytes() == 4 * 2 * 32 * 2 * 4 * (64 + 63));
}

TEST_CASE("C API: head_plan_json", "[unit]") {
  floe_model_params mp = floe_model_default_params();
  const std::string tok = DataPath("models/llama2c/tok512.bin");
  mp.tokenizer_path = tok.c_str();
  floe_model* model = nullptr;
  REQUIRE(floe_model_load(DataPath("models/llama2c/stories-long-2k.bin").c_str(), &mp, &model) ==
          FLOE_OK);
  floe_session_params p = floe_session_default_params();
  CHECK(p.head_plan_json == nullptr);
  p.context_length = 256;
  floe_session* s = nullptr;
  p.head_plan_json = R"({"heads": [{"layer": 0, "head": 0, "mode": "sliding"}]})";
  CHECK(floe_session_create(model, &p, &s) == FLOE_ERR_INVALID_ARGUMENT);
  CHECK(std::string(floe_last_error()).find("unknown head mode 'sliding'") != std::string::npos);
  p.head_plan_json = R"({"heads": [{"layer": 9, "head": 0, "mode": "dense"}]})";
  CHECK(floe_session_create(model, &p, &s) == FLOE_ERR_INVALID_ARGUMENT);
  CHECK(std::string(floe_last_error()).find("the model has 4 layers") != std::string::npos);
  p.head_plan_json = kMixed;
  REQUIRE(floe_session_create(model, &p, &s) == FLOE_OK);
  const floe_token ids[] = {1, 403, 407, 261, 300};
  CHECK(floe_session_eval(s, ids, 5) == FLOE_OK);
  floe_session_free(s);
  floe_model_free(model);
}

TEST_CASE("planned sessions decode in one batch as they do one by one", "[unit]") {
  auto m = StoriesLong();
  const auto ids = Text(*m, 200);
  SessionParams p;
  p.context_length = 256;
  p.attention.dense_below = 32;
  p.head_plan = Parse(kMixed);
  auto a = New(*m, p), b = New(*m, p), a1 = New(*m, p), b1 = New(*m, p);
  const std::span<const int32_t> pa(ids.data(), 120), pb(ids.data() + 50, 90);
  REQUIRE(a->Eval(pa).ok());
  REQUIRE(a1->Eval(pa).ok());
  REQUIRE(b->Eval(pb).ok());
  REQUIRE(b1->Eval(pb).ok());
  for (size_t step = 0; step < 20; ++step) {
    const int32_t ta = ids[120 + step], tb = ids[140 + step];
    Session* both[] = {a.get(), b.get()};
    const int32_t toks[] = {ta, tb};
    REQUIRE(Session::EvalBatch(both, toks, a->threads()).ok());
    REQUIRE(a1->Eval(std::vector<int32_t>{ta}).ok());
    REQUIRE(b1->Eval(std::vector<int32_t>{tb}).ok());
    CHECK(MaxDiff(Logits(*a), Logits(*a1)) < 1e-4f);
    CHECK(MaxDiff(Logits(*b), Logits(*b1)) < 1e-4f);
  }
}

TEST_CASE("a plan and a memory budget: the budget counts the planned cache", "[unit]") {
  auto m = StoriesLong();
  const auto ids = Text(*m, 2048);
  // 850 kB: scratch, the window heads' rings and about 1700 tokens of one dense head's keys and
  // values; a dense session needs 4 layers x 2 heads x 256 bytes = 2 kB per token.
  constexpr size_t kBudget = 850000;
  constexpr size_t kDenseHeadBytesPerToken = 2 * 32 * sizeof(float);  // K + V, head_dim 32, f32
  SessionParams dense;
  dense.context_length = 2048;
  dense.batch = 32;
  dense.memory_budget = kBudget;
  auto d = New(*m, dense);
  const std::span<const int32_t> prompt(ids.data(), 1200);
  const Status refused = d->Eval(prompt);
  CHECK(refused.code() == StatusCode::kOutOfMemory);
  CHECK(d->position() == 0);

  // One dense head, the other seven keep their last 64 keys: the same prompt fits.
  SessionParams planned = dense;
  planned.head_plan = Parse(R"({"default": {"mode": "window", "window": 64},
                                "heads": [{"layer": 0, "head": 0, "mode": "dense"}]})");
  auto p = New(*m, planned);
  REQUIRE(p->Eval(prompt).ok());
  SessionParams unlimited = planned;
  unlimited.memory_budget = 0;
  auto u = New(*m, unlimited);
  REQUIRE(u->Eval(prompt).ok());
  CHECK(MaxDiff(Logits(*p), Logits(*u)) == 0.0f);

  // The budget still binds: only the dense head grows, so one token at a time the session stops
  // where its 256 bytes per token no longer fit, one token earlier with 256 bytes less budget.
  size_t pos = p->position();
  while (pos < ids.size() && p->Eval(std::span<const int32_t>(&ids[pos], 1)).ok()) ++pos;
  INFO("stopped at " << pos);
  CHECK(pos > 1200);
  CHECK(pos < 2048);
  const Status st = p->Eval(std::span<const int32_t>(&ids[pos], 1));
  CHECK(st.code() == StatusCode::kOutOfMemory);
  CHECK(p->position() == pos);
  SessionParams less = planned;
  less.memory_budget = kBudget - kDenseHeadBytesPerToken;
  auto l = New(*m, less);
  REQUIRE(l->Eval(std::span<const int32_t>(ids.data(), pos - 1)).ok());
  CHECK(l->Eval(std::span<const int32_t>(&ids[pos - 1], 1)).code() == StatusCode::kOutOfMemory);
  // A planned state restores into a planned session whose budget holds it, not into a smaller.
  std::vector<uint8_t> bytes;
  REQUIRE(p->SaveState(&bytes).ok());
  auto l2 = New(*m, less);
  CHECK(l2->RestoreState(bytes).code() == StatusCode::kOutOfMemory);
  auto p2 = New(*m, planned);
  CHECK(p2->RestoreState(bytes).ok());
}

// Records what a probe sees of a planned session, checking each dense-path query's output
// against exact attention over the keys the event points at.
struct PlanProbe : AttentionProbe {
  explicit PlanProbe(size_t group) : group(group) {}
  bool Wants(size_t, size_t, size_t) const override { return true; }
  void Record(const AttentionProbeEvent& e) override {
    std::vector<float> ref(e.cache->head_dim());
    ice::reference::DenseAttend(*e.cache, e.cache_layer, e.cache_kv_head, e.q, e.position + 1,
                                ref.data());
    float err = 0;
    if (!e.sparse)
      for (size_t d = 0; d < ref.size(); ++d) err = std::max(err, std::fabs(ref[d] - e.out[d]));
    std::lock_guard<std::mutex> lock(mu);
    seen.insert({e.layer, e.kv_head});
    k_ok = k_ok && e.k == (e.layer == 1 ? 8u : 32u);  // each knn head's own k
    numbering_ok = numbering_ok && e.head / group == e.kv_head;
    ++(e.sparse ? sparse : dense_path);
    max_err = std::max(max_err, err);
  }
  size_t group;
  std::mutex mu;
  std::set<std::pair<size_t, size_t>> seen;
  bool numbering_ok = true, k_ok = true;
  size_t sparse = 0, dense_path = 0;
  float max_err = 0;
};

TEST_CASE("an attention probe sees a plan's knn heads, in the model's numbers", "[unit]") {
  auto m = StoriesLong();
  const auto ids = Text(*m, 400);
  SessionParams p;
  p.context_length = 512;
  p.attention.dense_below = 64;
  p.head_plan = Parse(kMixed);  // knn heads: layer 1 KV head 1, layer 3 KV head 1
  auto probe_session = [&](PlanProbe* probe) {
    SessionParams q = p;
    q.attention_probe = probe;
    auto s = New(*m, q);
    REQUIRE(s->Eval(ids).ok());
    return s;
  };
  auto plain = New(*m, p);
  REQUIRE(plain->Eval(ids).ok());
  PlanProbe probe(/*group=*/2);  // stories-long-2k: 4 query heads on 2 KV heads
  auto probed = probe_session(&probe);
  CHECK(probe.seen == std::set<std::pair<size_t, size_t>>{{1, 1}, {3, 1}});
  CHECK(probe.numbering_ok);
  CHECK(probe.k_ok);
  CHECK(probe.sparse > 0);
  CHECK(probe.dense_path > 0);
  CHECK(probe.max_err < 1e-4f);
  // Probing changes nothing.
  CHECK(MaxDiff(Logits(*plain), Logits(*probed)) == 0.0f);
}
