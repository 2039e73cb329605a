// The registry entry of Mamba-1 (models/architecture.h), and its presets: the shapes of the
// released state-spaces/mamba checkpoints (130m ... 2.8b) and a tiny one for tests.
#pragma once

#include <string>

#include "models/architecture.h"
#include "models/mamba/mamba_config.h"

namespace floe {

const Architecture& MambaArchitecture();

// The shape of preset `name` (tiny, 130m, 370m, 790m, 1.4b, 2.8b); kInvalidArgument otherwise.
Result<MambaConfig> MambaPresetShape(const std::string& name);

}  // namespace floe
