// The registry entry of RWKV-6 "Finch" (x060; models/architecture.h), and its presets: the
// shapes of the published RWKV-6 World models.
#pragma once

#include <string>

#include "models/architecture.h"
#include "models/rwkv6/rwkv6_weights.h"

namespace floe {

const Architecture& Rwkv6Architecture();

// The shape of preset `name` (tiny, 0b1, 1b6, 3b); kInvalidArgument for another name.
Result<Rwkv6Config> Rwkv6PresetShape(const std::string& name);

}  // namespace floe
