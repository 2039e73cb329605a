// The Block Transformer architecture value (models/architecture.h): official checkpoints
// (model.safetensors + config.json), the block-transformer GGUF layout, random presets.
#pragma once

#include "models/architecture.h"

namespace floe {

const Architecture& BlockTransformerArchitecture();

}  // namespace floe
