// Non-owning 2-D tensor view: `rows` x `cols`, row-major, rows contiguous (row stride = cols).
// A 1-D tensor has rows == 1. This is how weights reach kernels: a pointer into a mapped file
// plus a dtype, never a copy. GGUF's ne[0] is `cols`, ne[1] is `rows`.
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/base/dtype.h"

namespace floe {

struct TensorView {
  DType dtype = DType::kF32;
  const void* data = nullptr;
  size_t rows = 0;
  size_t cols = 0;

  size_t elements() const { return rows * cols; }
  size_t row_bytes() const { return DTypeBytes(dtype, cols); }
  size_t bytes() const { return rows * row_bytes(); }
  const uint8_t* row(size_t r) const { return static_cast<const uint8_t*>(data) + r * row_bytes(); }
  const float* f32() const { return static_cast<const float*>(data); }
};

// Converts `n` elements starting at element index `offset` of `t` to float32. For quantized
// types offset and n must be multiples of the block size (whole rows always are).
void ToF32(const TensorView& t, size_t offset, size_t n, float* out);

}  // namespace floe
