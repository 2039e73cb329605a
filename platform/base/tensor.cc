#include "platform/base/tensor.h"

#include <cstring>

#include "platform/quant/quant.h"
#include "platform/quant/row_panels.h"

namespace floe {

void ToF32(const TensorView& t, size_t offset, size_t n, float* out) {
  if (IsRowPanels(t.dtype)) return DequantizeRowPanels(t, offset, n, out);
  if (IsQuantized(t.dtype)) {
    DequantizeRow(t.dtype, static_cast<const uint8_t*>(t.data) + DTypeBytes(t.dtype, offset), n,
                  out);
    return;
  }
  switch (t.dtype) {
    case DType::kF32:
      std::memcpy(out, static_cast<const float*>(t.data) + offset, n * sizeof(float));
      return;
    case DType::kF16: {
      const uint16_t* p = static_cast<const uint16_t*>(t.data) + offset;
      for (size_t i = 0; i < n; ++i) out[i] = F16ToF32(p[i]);
      return;
    }
    case DType::kBF16: {
      const uint16_t* p = static_cast<const uint16_t*>(t.data) + offset;
      for (size_t i = 0; i < n; ++i) out[i] = BF16ToF32(p[i]);
      return;
    }
    default:
      return;
  }
}

}  // namespace floe
