// The registry entry of TransNormerLLM (models/architecture.h), and its presets: the shapes of
// the published TransNormerLLM family.
#pragma once

#include <string>

#include "models/architecture.h"
#include "models/transnormer/transnormer_config.h"

namespace floe {

const Architecture& TransnormerArchitecture();

// The shape of preset `name` (tiny, small, 385m, 1b); kInvalidArgument for another name.
Result<TransnormerConfig> TransnormerPresetShape(const std::string& name);

}  // namespace floe
