// Human-readable summary of a GGUF file for `floe inspect`.
#pragma once

#include <cstddef>
#include <string>

#include "runtime/formats/gguf/gguf_reader.h"

namespace floe {

// Version, alignment and data-section offset; every metadata key with its type and value
// (arrays: element type, length and the first max_array_items items; long strings are cut and
// control bytes escaped); then every tensor (name, type, shape, offset, bytes); then totals
// (tensor count, elements, bytes, and the count per ggml type). Never fails.
std::string FormatGgufSummary(const GgufFile& f, size_t max_array_items = 8);

// One metadata value as FormatGgufSummary prints it ("\"llama\"", "32000", "[1, 2, ... +5]").
std::string FormatGgufValue(const GgufValue& v, size_t max_array_items = 8);

}  // namespace floe
