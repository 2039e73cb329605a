// A whole model file through Model::Load (format detected from its bytes: GGUF, llama2.c,
// rwkv.cpp, torch zip, safetensors), then a session with a small context, a two-token forward,
// and a save/restore of its state. Catches what the readers pass on to the models: shapes,
// dtypes, alignments and hyperparameters the forward then trusts.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_common.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  floe::fuzz::MemoryFile file(data, size);
  floe::LoadOptions options;
  options.huge_pages = floe::HugePages::kOff;
  auto model = floe::Model::Load(file.path(), options);
  if (!model.ok()) return 0;
  floe::SessionParams params;
  params.threads = 1;
  params.context_length = 16;
  params.batch = 4;
  auto session = floe::Session::Create(**model, params);
  if (!session.ok()) return 0;
  size_t vocab = (*model)->lm().vocab_size();
  std::vector<int32_t> tokens = {0, int32_t(vocab > 1 ? 1 : 0)};
  if (!(*session)->Eval(tokens).ok()) return 0;
  std::vector<uint8_t> state;
  if ((*session)->SaveState(&state).ok()) (void)(*session)->RestoreState(state);
  return 0;
}
