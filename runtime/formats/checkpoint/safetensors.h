// Reads a .safetensors file: an 8-byte little-endian header length N, N bytes of JSON
// {name: {"dtype": "F32"|"F16"|"BF16", "shape": [...], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {string: string}}, then the data section; offsets are relative to the data
// section. Tensors come out as zero-copy views into `data` (which must outlive the set), in
// header order.
//
// Validation (input is untrusted): the header fits the file (and is at most kMaxSafetensorsHeader),
// is strict JSON, every tensor has begin <= end <= data section size and end - begin ==
// numel * dtype size (overflow-checked), and no two tensors' byte ranges overlap. Gaps between
// tensors are allowed. Errors: kUnsupported naming the tensor for other dtypes
// (I64, F64, ...); kCorruptData naming the tensor / field for everything inconsistent.
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/base/tensor_set.h"

namespace floe {

inline constexpr uint64_t kMaxSafetensorsHeader = uint64_t(100) << 20;  // 100 MiB, as upstream
// JSON values in a header (about 10 per tensor); more is an error, not an allocation.
inline constexpr size_t kMaxSafetensorsHeaderValues = size_t(1) << 20;

Result<TensorSet> ReadSafetensors(const uint8_t* data, size_t size);

}  // namespace floe
