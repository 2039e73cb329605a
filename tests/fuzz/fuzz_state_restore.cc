// Session::RestoreState with hostile bytes, for every architecture floe runs (llama via
// stories260K, RWKV-6 via the rwkv.cpp tiny model, and the reference TransNormerLLM, Mamba,
// Block Transformer and GoldFinch checkpoints), and stories260K sessions under two head plans
// (a planned state's layout is read from its header: attention/planned/). The first input byte
// picks the target session and whether the harness seals the rest with a valid checksum (so the
// fuzzer reaches the parsers behind the seal, as a forger who knows XXH3 would) or passes it as
// it is. After a restore that succeeds, the session must evaluate one more token.
// Seeds: FLOE_FUZZ_WRITE_SEEDS=DIR makes the first call write one real saved state per target
// (unsealed, mode byte in front) to DIR, and the first plan's state aimed at the plain llama
// session and at the other plan; tests/fuzz/make_corpora.py does this.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "platform/base/state_io.h"
#include "runtime/engine/head_plan_json.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

namespace {
struct Entry {
  std::unique_ptr<floe::Model> model;
};

std::unique_ptr<floe::Model> LoadOrDie(const std::string& rel, const std::string& tokenizer = "") {
  floe::LoadOptions options;
  options.huge_pages = floe::HugePages::kOff;
  if (!tokenizer.empty()) options.tokenizer_path = floe::fuzz::DataPath(tokenizer);
  auto m = floe::Model::Load(floe::fuzz::DataPath(rel), options);
  if (!m.ok()) {
    std::fprintf(stderr, "fuzz fixture %s: %s\n", rel.c_str(), m.status().ToString().c_str());
    std::abort();
  }
  return std::move(m).value();
}

// Targets: every model plainly, then stories260K (model 0) under two plans.
constexpr const char* kPlans[] = {
    R"({"heads": [{"layer": 0, "head": 0, "mode": "window", "window": 4},
                  {"layer": 1, "head": 1, "mode": "knn", "k": 4, "window": 8, "sinks": 2},
                  {"layer": 2, "head": 3, "mode": "window", "window": 12}]})",
    R"({"heads": [{"layer": 0, "head": 0, "mode": "window", "window": 2},
                  {"layer": 4, "head": 2, "mode": "window", "window": 6}]})"};
constexpr size_t kModels = 6, kTargets = kModels + 2;

floe::SessionParams Params(size_t target) {
  floe::SessionParams p;
  p.threads = 1;
  p.context_length = 32;
  p.batch = 8;
  if (target >= kModels) {
    auto plan = floe::ParseHeadPlanJson(kPlans[target - kModels]);
    if (!plan.ok()) std::abort();
    p.head_plan = *plan;
    p.attention.dense_below = 4;  // the knn head searches within the 32-token context
  }
  return p;
}

const std::vector<std::unique_ptr<floe::Model>>& Models() {
  static const std::vector<std::unique_ptr<floe::Model>> all = [] {
    std::vector<std::unique_ptr<floe::Model>> v;
    v.push_back(LoadOrDie("models/llama2c/stories260K.bin", "models/llama2c/tok512.bin"));
    v.push_back(LoadOrDie("models/rwkv/tiny-rwkv-6v0-1m-FP32.bin"));
    v.push_back(LoadOrDie("reference/transnormer/model.safetensors"));
    v.push_back(LoadOrDie("reference/mamba1/model.safetensors"));
    v.push_back(LoadOrDie("reference/block_transformer/model.safetensors"));
    v.push_back(LoadOrDie("reference/goldfinch/model.pth"));
    return v;
  }();
  return all;
}

const floe::Model& ModelOf(size_t target) { return *Models()[target < kModels ? target : 0]; }

void WriteSeed(const char* dir, const std::string& name, std::vector<uint8_t> state,
               size_t target) {
  state.resize(state.size() - 8);  // the seal; mode bit 1 puts a valid one back
  state.insert(state.begin(), uint8_t(target * 2 + 1));
  std::string path = std::string(dir) + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(state.data(), 1, state.size(), f) != state.size()) std::abort();
  std::fclose(f);
}

void WriteSeeds(const char* dir) {
  for (size_t i = 0; i < kTargets; ++i) {
    // Planned sessions: 16 tokens (past the plans' shortest windows) and 3 (every head still
    // holds every key, so the state also restores into the plain session and the other plan).
    for (size_t n : i >= kModels ? std::vector<size_t>{16, 3} : std::vector<size_t>{5}) {
      auto s = floe::Session::Create(ModelOf(i), Params(i));
      if (!s.ok()) std::abort();
      std::vector<int32_t> tokens(n);
      for (size_t t = 0; t < n; ++t) tokens[t] = int32_t(t + 1);
      if (!(*s)->Eval(tokens).ok()) std::abort();
      std::vector<uint8_t> state;
      if (!(*s)->SaveState(&state).ok() || state.size() < 8) std::abort();
      const std::string name = "state-" + std::to_string(i) + "-" + std::to_string(n);
      WriteSeed(dir, name, state, i);
      if (i == kModels) {  // the first plan's state, into the plain session and the other plan
        WriteSeed(dir, name + "-to-plain", state, 0);
        WriteSeed(dir, name + "-to-plan", state, kModels + 1);
      }
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool seeded = [] {
    if (const char* dir = std::getenv("FLOE_FUZZ_WRITE_SEEDS")) WriteSeeds(dir);
    return true;
  }();
  (void)seeded;
  if (size < 1) return 0;
  const size_t target = (data[0] >> 1) % kTargets;
  std::vector<uint8_t> bytes(data + 1, data + size);
  if (data[0] & 1) floe::SealState(&bytes);
  auto s = floe::Session::Create(ModelOf(target), Params(target));
  if (!s.ok()) __builtin_trap();
  if (!(*s)->RestoreState(bytes).ok()) return 0;
  if ((*s)->tokens().size() < 32) {
    std::vector<int32_t> next = {1};
    (void)(*s)->Eval(next);
  }
  return 0;
}
