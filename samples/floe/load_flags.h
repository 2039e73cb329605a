// The model-loading flag shared by floe generate / logits / eval-attention / bench:
//   --huge-pages off|advise|refault   (page backing of the mapped model file; see HugePages)
#pragma once

#include <string>

#include "args.h"
#include "runtime/model.h"

namespace floe::cli {

// Fills *o from the flags (unset flags keep *o's values). False with *err on a bad value.
bool ParseLoadFlags(Args& a, LoadOptions* o, std::string* err);

// Usage line for the flag above.
extern const char* kLoadFlagsUsage;

}  // namespace floe::cli
