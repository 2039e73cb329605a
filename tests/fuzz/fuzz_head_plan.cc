// Head-plan JSON (docs/attention/head-plans.md) as a user's file: ParseHeadPlanJson, then, for a
// document that parses, Resolve against stories260K's heads (5 layers x 4 KV heads) at a small
// context, a session made with it (which resolves it again and sizes its per-head storage) and a
// short eval, save and restore into a session without the plan (refused or taken, never a crash).
// The first byte is the context (16..271); the rest is the document.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "runtime/engine/head_plan_json.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

namespace {
const floe::Model& Stories() {
  static const std::unique_ptr<floe::Model> m = [] {
    floe::LoadOptions o;
    o.huge_pages = floe::HugePages::kOff;
    o.tokenizer_path = floe::fuzz::DataPath("models/llama2c/tok512.bin");
    auto r = floe::Model::Load(floe::fuzz::DataPath("models/llama2c/stories260K.bin"), o);
    if (!r.ok()) {
      std::fprintf(stderr, "fuzz fixture: %s\n", r.status().ToString().c_str());
      std::abort();
    }
    return std::move(r).value();
  }();
  return *m;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const size_t ctx = 16 + data[0];
  auto plan =
      floe::ParseHeadPlanJson(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  if (!plan.ok()) return 0;
  (void)plan->Resolve(5, 4, ctx, /*allow_recurrent=*/(data[0] & 1) != 0);
  floe::SessionParams p;
  p.threads = 1;
  p.context_length = ctx;
  p.batch = 4;
  p.attention.dense_below = 8;  // knn heads search within the short eval
  p.head_plan = *plan;
  auto s = floe::Session::Create(Stories(), p);
  if (!s.ok()) return 0;
  std::vector<int32_t> tokens = {1, 403, 407, 1, 2, 3};
  if (!(*s)->Eval(tokens).ok()) return 0;
  std::vector<uint8_t> state;
  if (!(*s)->SaveState(&state).ok()) __builtin_trap();
  floe::SessionParams plain = p;
  plain.head_plan.reset();
  auto other = floe::Session::Create(Stories(), plain);
  if (!other.ok()) __builtin_trap();
  if ((*other)->RestoreState(state).ok()) (void)(*other)->Eval(std::vector<int32_t>{5});
  return 0;
}
