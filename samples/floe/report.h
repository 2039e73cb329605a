// The ending every file-writing verb shares (convert, make-model, quantize).
#pragma once

#include <string>

#include "platform/base/status.h"

namespace floe::cli {

// On failure prints "floe VERB: <status>" to stderr and returns 1; on success prints
// "wrote PATH" to stderr and returns 0. The result is the verb's exit status.
int ReportWrite(const char* verb, const Status& st, const std::string& path);

}  // namespace floe::cli
