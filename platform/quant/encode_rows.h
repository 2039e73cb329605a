// Float rows to a stored weight type: f32, f16, bf16 (round to nearest even), q8_0, q4_0, q4_1,
// q5_0, q5_1, q4_K, q5_K and q6_K (llama.cpp's reference rounding, platform/quant/quant.h).
// Used to write model files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "platform/base/dtype.h"
#include "platform/base/status.h"

namespace floe {

// Converts `rows` rows of `cols` floats to `type` into *out (resized to rows x the row's bytes).
// kInvalidArgument for another type, or cols not a multiple of the type's block.
Status EncodeRows(const float* x, size_t rows, size_t cols, DType type, std::vector<uint8_t>* out);
// The same into `out`, which holds rows x DTypeBytes(type, cols) bytes.
Status EncodeRowsTo(const float* x, size_t rows, size_t cols, DType type, uint8_t* out);

}  // namespace floe
