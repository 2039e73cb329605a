#include "platform/quant/row_panels.h"

#include <cstring>
#include <span>

#include "platform/quant/quant.h"

namespace floe {

namespace {

// A field of a block: `bytes` at `offset` in the block, stored row by row or as words
// (row_panels.h), in the order listed.
struct Field {
  size_t offset, bytes;
  bool words;
};
constexpr Field kQ4_0Fields[] = {{0, 2, false}, {2, 16, true}};
constexpr Field kQ8_0Fields[] = {{0, 2, false}, {2, 32, true}};
constexpr Field kQ4_KFields[] = {{0, 2, false}, {2, 2, false}, {4, 12, true}, {16, 128, true}};
constexpr Field kQ6_KFields[] = {{0, 128, true}, {128, 64, true}, {192, 16, true}, {208, 2, false}};

std::span<const Field> FieldsOf(DType block_type) {
  switch (block_type) {
    case DType::kQ4_0:
      return kQ4_0Fields;
    case DType::kQ8_0:
      return kQ8_0Fields;
    case DType::kQ4_K:
      return kQ4_KFields;
    default:
      return kQ6_KFields;
  }
}

// Calls fn(block offset, group offset, bytes) for each piece of row i's block in its group.
template <class Fn>
void ForEachPiece(DType block_type, size_t i, Fn&& fn) {
  size_t at = 0;
  for (const Field& f : FieldsOf(block_type)) {
    if (f.words) {
      for (size_t k = 0; k < f.bytes / 4; ++k) fn(f.offset + 4 * k, at + 64 * k + 4 * i, size_t{4});
    } else {
      fn(f.offset, at + f.bytes * i, f.bytes);
    }
    at += kPanelRows * f.bytes;
  }
}

// The group of block column b of panel p within a panel matrix of row_bytes per row.
size_t GroupOffset(size_t p, size_t b, size_t row_bytes, size_t block_bytes) {
  return p * kPanelRows * row_bytes + b * kPanelRows * block_bytes;
}

// Block b of row r of panel matrix `w`, in its row-major layout (block_bytes bytes) at out.
void GatherBlock(const TensorView& w, size_t r, size_t b, uint8_t* out) {
  const DType base = PanelBlockType(w.dtype);
  const uint8_t* g = static_cast<const uint8_t*>(w.data) +
                     GroupOffset(r / kPanelRows, b, w.row_bytes(), DTypeBlockBytes(base));
  ForEachPiece(base, r % kPanelRows, [&](size_t at_block, size_t at_group, size_t n) {
    std::memcpy(out + at_block, g + at_group, n);
  });
}

}  // namespace

bool CanRepackRowPanels(DType t, size_t rows, size_t cols) {
  const bool type =
      t == DType::kQ4_0 || t == DType::kQ8_0 || t == DType::kQ4_K || t == DType::kQ6_K;
  return type && rows > 0 && rows % kPanelRows == 0 && cols > 0 && cols % DTypeBlockElems(t) == 0;
}

DType RowPanelsTypeOf(DType t) { return DType(uint32_t(t) + 0x1000u); }

void RepackRowPanels(const TensorView& w, size_t p0, size_t p1, uint8_t* out) {
  const size_t bb = DTypeBlockBytes(w.dtype), blocks = w.cols / DTypeBlockElems(w.dtype);
  for (size_t p = p0; p < p1; ++p)
    for (size_t b = 0; b < blocks; ++b) {
      uint8_t* g = out + GroupOffset(p, b, w.row_bytes(), bb);
      for (size_t r = 0; r < kPanelRows; ++r) {
        const uint8_t* blk = w.row(p * kPanelRows + r) + b * bb;
        ForEachPiece(w.dtype, r, [&](size_t at_block, size_t at_group, size_t n) {
          std::memcpy(g + at_group, blk + at_block, n);
        });
      }
    }
}

void RowPanelsRowToBlocks(const TensorView& w, size_t r, uint8_t* out) {
  const DType base = PanelBlockType(w.dtype);
  const size_t bb = DTypeBlockBytes(base);
  for (size_t b = 0; b < w.cols / DTypeBlockElems(base); ++b) GatherBlock(w, r, b, out + b * bb);
}

void DequantizeRowPanels(const TensorView& w, size_t offset, size_t n, float* out) {
  const DType base = PanelBlockType(w.dtype);
  const size_t elems = DTypeBlockElems(base);
  uint8_t blk[sizeof(BlockQ6_K)];  // the largest block
  for (size_t e = offset; e < offset + n; e += elems) {
    GatherBlock(w, e / w.cols, (e % w.cols) / elems, blk);
    DequantizeRow(base, blk, elems, out + (e - offset));
  }
}

}  // namespace floe
