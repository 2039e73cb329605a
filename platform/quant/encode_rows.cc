#include "platform/quant/encode_rows.h"

#include <cstring>
#include <string>

#include "platform/quant/quant.h"

namespace floe {

Status EncodeRows(const float* x, size_t rows, size_t cols, DType type, std::vector<uint8_t>* out) {
  out->resize(rows * DTypeBytes(type, cols));
  return EncodeRowsTo(x, rows, cols, type, out->data());
}

Status EncodeRowsTo(const float* x, size_t rows, size_t cols, DType type, uint8_t* p) {
  if (cols % DTypeBlockElems(type) != 0)
    return InvalidArgument("row length " + std::to_string(cols) + " is not a multiple of the " +
                           DTypeName(type) + " block");
  const size_t rb = DTypeBytes(type, cols);
  for (size_t r = 0; r < rows; ++r, p += rb) {
    const float* row = x + r * cols;
    switch (type) {
      case DType::kF32:
        std::memcpy(p, row, cols * 4);
        break;
      case DType::kF16:
        for (size_t c = 0; c < cols; ++c) {
          const uint16_t h = F32ToF16(row[c]);
          std::memcpy(p + 2 * c, &h, 2);
        }
        break;
      case DType::kBF16:
        for (size_t c = 0; c < cols; ++c) {
          const uint16_t h = F32ToBF16(row[c]);
          std::memcpy(p + 2 * c, &h, 2);
        }
        break;
      case DType::kQ8_0:
        QuantizeRowQ8_0(row, cols, reinterpret_cast<BlockQ8_0*>(p));
        break;
      case DType::kQ4_0:
        QuantizeRowQ4_0(row, cols, reinterpret_cast<BlockQ4_0*>(p));
        break;
      case DType::kQ4_1:
        QuantizeRowQ4_1(row, cols, reinterpret_cast<BlockQ4_1*>(p));
        break;
      case DType::kQ5_1:
        QuantizeRowQ5_1(row, cols, reinterpret_cast<BlockQ5_1*>(p));
        break;
      case DType::kQ5_0:
        QuantizeRowQ5_0(row, cols, reinterpret_cast<BlockQ5_0*>(p));
        break;
      case DType::kQ4_K:
        QuantizeRowQ4_K(row, cols, reinterpret_cast<BlockQ4_K*>(p));
        break;
      case DType::kQ5_K:
        QuantizeRowQ5_K(row, cols, reinterpret_cast<BlockQ5_K*>(p));
        break;
      case DType::kQ6_K:
        QuantizeRowQ6_K(row, cols, reinterpret_cast<BlockQ6_K*>(p));
        break;
      default:
        return InvalidArgument(std::string("cannot write weights as ") + DTypeName(type));
    }
  }
  return Status::Ok();
}

}  // namespace floe
