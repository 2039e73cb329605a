#include "runtime/engine/architectures.h"

#include "models/block_transformer/block_transformer_architecture.h"
#include "models/goldfinch/goldfinch_architecture.h"
#include "models/llama/llama_architecture.h"
#include "models/mamba/mamba_architecture.h"
#include "models/recurformer/recurformer_architecture.h"
#include "models/rwkv6/rwkv6_architecture.h"
#include "models/transnormer/transnormer_architecture.h"

namespace floe {

std::span<const Architecture* const> Architectures() {
  static const Architecture* const kAll[] = {
      &LlamaArchitecture(),
      &Qwen2Architecture(),
      &GoldfinchArchitecture(),  // before rwkv6: its checkpoints hold RWKV-6 tensor names too
      &Rwkv6Architecture(),
      &TransnormerArchitecture(),
      &MambaArchitecture(),
      &RecurformerArchitecture(),
      &BlockTransformerArchitecture(),
  };
  return kAll;
}

const Architecture* FindArchitecture(std::string_view name) {
  for (const Architecture* a : Architectures())
    if (name == a->name) return a;
  return nullptr;
}

std::string ArchitectureNames() {
  std::string names;
  for (const Architecture* a : Architectures()) {
    if (!names.empty()) names += ", ";
    names += a->name;
  }
  return names;
}

std::string DescribeArchitecture(std::string_view name) {
  std::string line = "architecture '" + std::string(name) + "': ";
  if (const Architecture* a = FindArchitecture(name)) return line + "floe runs it as " + a->family;
  return line + "floe does not run it (it runs: " + ArchitectureNames() + ")";
}

const Architecture* RecogniseCheckpoint(const TensorSet& tensors) {
  for (const Architecture* a : Architectures())
    if (a->recognises != nullptr && a->recognises(tensors)) return a;
  return nullptr;
}

}  // namespace floe
