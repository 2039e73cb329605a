// The registry entry for GoldFinch (models/architecture.h).
#pragma once

#include "models/architecture.h"

namespace floe {

const Architecture& GoldfinchArchitecture();

}  // namespace floe
