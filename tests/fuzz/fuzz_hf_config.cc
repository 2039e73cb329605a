// A Hugging Face config.json beside a real checkpoint: the first input byte picks one of the
// reference checkpoints (RWKV-6, TransNormerLLM, Mamba, Block Transformer, GoldFinch), the
// rest is the config text the architecture's binder reads its hyperparameters from.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_common.h"
#include "runtime/engine/network_loaders.h"

namespace {
struct Checkpoint {
  floe::ModelFormat format;
  std::vector<uint8_t> bytes;
};
const std::vector<Checkpoint>& Checkpoints() {
  static const std::vector<Checkpoint> all = {
      {floe::ModelFormat::kTorch, floe::fuzz::ReadFixture("reference/rwkv6/model.pth")},
      {floe::ModelFormat::kSafetensors,
       floe::fuzz::ReadFixture("reference/transnormer/model.safetensors")},
      {floe::ModelFormat::kSafetensors, floe::fuzz::ReadFixture("reference/mamba1/model.safetensors")},
      {floe::ModelFormat::kSafetensors,
       floe::fuzz::ReadFixture("reference/block_transformer/model.safetensors")},
      {floe::ModelFormat::kTorch, floe::fuzz::ReadFixture("reference/goldfinch/model.pth")},
  };
  return all;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const Checkpoint& c = Checkpoints()[data[0] % Checkpoints().size()];
  std::string_view config(reinterpret_cast<const char*>(data + 1), size - 1);
  auto net = floe::LoadNetworkFromTensorFile(c.format, c.bytes.data(), c.bytes.size(), config);
  (void)net;
  return 0;
}
