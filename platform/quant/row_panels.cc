#include "platform/quant/row_panels.h"

#include <cstring>

#include "platform/quant/quant.h"

namespace floe {

namespace {

// Code words per block (Q4_0: 16 code bytes, Q8_0: 32).
size_t WordsPerBlock(DType block_type) { return (DTypeBlockBytes(block_type) - 2) / 4; }

// Byte offset of block column b of panel p within a panel matrix of row_bytes per row.
size_t GroupOffset(size_t p, size_t b, size_t row_bytes, size_t block_bytes) {
  return p * kPanelRows * row_bytes + b * kPanelRows * block_bytes;
}

// Block b of row r of panel matrix `w`, in its row-major layout (block_bytes bytes) at out.
void GatherBlock(const TensorView& w, size_t r, size_t b, uint8_t* out) {
  const DType base = PanelBlockType(w.dtype);
  const size_t bb = DTypeBlockBytes(base), words = WordsPerBlock(base);
  const uint8_t* g =
      static_cast<const uint8_t*>(w.data) + GroupOffset(r / kPanelRows, b, w.row_bytes(), bb);
  const size_t i = r % kPanelRows;
  std::memcpy(out, g + 2 * i, 2);
  for (size_t k = 0; k < words; ++k) std::memcpy(out + 2 + 4 * k, g + 32 + 64 * k + 4 * i, 4);
}

}  // namespace

bool CanRepackRowPanels(DType t, size_t rows, size_t cols) {
  return (t == DType::kQ4_0 || t == DType::kQ8_0) && rows > 0 && rows % kPanelRows == 0 &&
         cols > 0 && cols % 32 == 0;
}

DType RowPanelsTypeOf(DType t) { return t == DType::kQ4_0 ? DType::kQ4_0R16 : DType::kQ8_0R16; }

void RepackRowPanels(const TensorView& w, size_t p0, size_t p1, uint8_t* out) {
  const size_t bb = DTypeBlockBytes(w.dtype), words = WordsPerBlock(w.dtype);
  const size_t row_bytes = w.row_bytes(), blocks = w.cols / 32;
  for (size_t p = p0; p < p1; ++p)
    for (size_t b = 0; b < blocks; ++b) {
      uint8_t* g = out + GroupOffset(p, b, row_bytes, bb);
      for (size_t r = 0; r < kPanelRows; ++r) {
        const uint8_t* blk = w.row(p * kPanelRows + r) + b * bb;
        std::memcpy(g + 2 * r, blk, 2);
        for (size_t k = 0; k < words; ++k) std::memcpy(g + 32 + 64 * k + 4 * r, blk + 2 + 4 * k, 4);
      }
    }
}

void RowPanelsRowToBlocks(const TensorView& w, size_t r, uint8_t* out) {
  const size_t bb = DTypeBlockBytes(PanelBlockType(w.dtype));
  for (size_t b = 0; b < w.cols / 32; ++b) GatherBlock(w, r, b, out + b * bb);
}

void DequantizeRowPanels(const TensorView& w, size_t offset, size_t n, float* out) {
  uint8_t blk[34];  // the larger block (Q8_0)
  for (size_t e = offset; e < offset + n; e += 32) {
    GatherBlock(w, e / w.cols, (e % w.cols) / 32, blk);
    DequantizeRow(PanelBlockType(w.dtype), blk, 32, out + (e - offset));
  }
}

}  // namespace floe
