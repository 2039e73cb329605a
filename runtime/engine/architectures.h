// The architecture registry: the one list of the architectures floe runs. Loading, `floe
// convert`, `floe inspect` and `floe make-model` find an architecture here and nowhere else; the
// architectures themselves live in models/<arch>/ (models/architecture.h says what an entry
// holds; docs/add-an-architecture.md how to add one).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "models/architecture.h"

namespace floe {

// In registry order.
std::span<const Architecture* const> Architectures();

// The entry whose name is `name` (general.architecture); null when there is none.
const Architecture* FindArchitecture(std::string_view name);

// "llama, qwen2, rwkv6, transnormer": for error messages and --help.
std::string ArchitectureNames();

// One line for `floe inspect`: "floe runs it as <family>" for a registered name, or that floe
// does not, listing the names it runs.
std::string DescribeArchitecture(std::string_view name);

// The entry that recognises a checkpoint's tensors (official PyTorch / safetensors / rwkv.cpp
// layouts); null when none does.
const Architecture* RecogniseCheckpoint(const TensorSet& tensors);

}  // namespace floe
