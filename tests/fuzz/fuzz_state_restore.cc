// Session::RestoreState with hostile bytes, for every architecture floe runs (llama via
// stories260K, RWKV-6 via the rwkv.cpp tiny model, and the reference TransNormerLLM, Mamba,
// Block Transformer and GoldFinch checkpoints). The first input byte picks the model and whether
// the harness seals the rest with a valid checksum (so the fuzzer reaches the parsers behind
// the seal, as a forger who knows XXH3 would) or passes it as it is. After a restore that
// succeeds, the session must evaluate one more token.
// Seeds: FLOE_FUZZ_WRITE_SEEDS=DIR makes the first call write one real saved state per model
// (unsealed, mode byte in front) to DIR; tests/fuzz/make-corpora does this.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "platform/base/state_io.h"
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

floe::SessionParams Params() {
  floe::SessionParams p;
  p.threads = 1;
  p.context_length = 32;
  p.batch = 8;
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

void WriteSeeds(const char* dir) {
  for (size_t i = 0; i < Models().size(); ++i) {
    auto s = floe::Session::Create(*Models()[i], Params());
    if (!s.ok()) std::abort();
    std::vector<int32_t> tokens = {1, 2, 3, 4, 5};
    if (!(*s)->Eval(tokens).ok()) std::abort();
    std::vector<uint8_t> state;
    if (!(*s)->SaveState(&state).ok() || state.size() < 8) std::abort();
    state.resize(state.size() - 8);  // the seal; mode bit 1 puts a valid one back
    state.insert(state.begin(), uint8_t(i * 2 + 1));
    std::string path = std::string(dir) + "/state-" + std::to_string(i);
    FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || std::fwrite(state.data(), 1, state.size(), f) != state.size()) std::abort();
    std::fclose(f);
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
  const auto& models = Models();
  const floe::Model& model = *models[(data[0] >> 1) % models.size()];
  std::vector<uint8_t> bytes(data + 1, data + size);
  if (data[0] & 1) floe::SealState(&bytes);
  auto s = floe::Session::Create(model, Params());
  if (!s.ok()) __builtin_trap();
  if (!(*s)->RestoreState(bytes).ok()) return 0;
  if ((*s)->tokens().size() < 32) {
    std::vector<int32_t> next = {1};
    (void)(*s)->Eval(next);
  }
  return 0;
}
