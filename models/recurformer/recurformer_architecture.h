// The registry entry of RecurFormer (models/architecture.h): GGUF architecture "recurformer"
// (recurformer_gguf.h), and a random preset for tests.
#pragma once

#include "models/architecture.h"

namespace floe {

const Architecture& RecurformerArchitecture();

}  // namespace floe
