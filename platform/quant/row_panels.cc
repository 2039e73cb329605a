#include "platform/quant/row_panels.h"

#include <cstring>
#include <span>

#include "platform/quant/quant.h"

namespace floe {

namespace {

// A field of a block: `bytes` at `offset` in the block, as words of `unit` bytes (row_panels.h:
// word w of row r at 16 unit w + unit r; unit == bytes is row by row), in the order listed.
struct Field {
  size_t offset, bytes, unit;
};
constexpr Field kQ4_0Fields[] = {{0, 2, 2}, {2, 16, 4}};
constexpr Field kQ8_0Fields[] = {{0, 2, 2}, {2, 32, 4}};
constexpr Field kQ4_KFields[] = {{0, 2, 2}, {2, 2, 2}, {4, 12, 4}, {16, 128, 4}};
// Q6_K's fields in its panel block (Q6KToPanelBlock): codes, scales, d.
constexpr Field kQ6_KFields[] = {{0, 192, 4}, {192, 16, 1}, {208, 2, 2}};

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
    for (size_t w = 0; w < f.bytes / f.unit; ++w)
      fn(f.offset + f.unit * w, at + kPanelRows * f.unit * w + f.unit * i, f.unit);
    at += kPanelRows * f.bytes;
  }
}

// Q6_K block <-> its panel block (210 bytes, row_panels.h): the same codes, scales and d.
void Q6KToPanelBlock(const uint8_t* block, uint8_t* out) {
  BlockQ6_K blk;
  std::memcpy(&blk, block, sizeof blk);
  uint8_t codes[256];
  Q6KBlockCodes(blk, codes);
  for (size_t u = 0; u < 4; ++u)
    for (size_t e = 0; e < 16; ++e) {
      const uint8_t* c = codes + 64 * u + e;  // c[16 x] is sub-block 4u + x's element e
      uint8_t* word = out + 4 * (12 * u + 3 * (e / 4)) + e % 4;
      word[0] = uint8_t(c[0] << 2 | (c[48] & 3));
      word[4] = uint8_t(c[16] << 2 | ((c[48] >> 2) & 3));
      word[8] = uint8_t(c[32] << 2 | c[48] >> 4);
    }
  std::memcpy(out + 192, blk.scales, 16);
  std::memcpy(out + 208, &blk.d, 2);
}
void Q6KFromPanelBlock(const uint8_t* in, uint8_t* block) {
  uint8_t codes[256];
  for (size_t e = 0; e < 256; ++e) {
    const size_t sb = e / 16, u = sb / 4, x = sb % 4;
    const uint8_t* word = in + 4 * (12 * u + 3 * ((e % 16) / 4)) + e % 4;
    codes[e] =
        x < 3 ? word[4 * x] >> 2 : uint8_t((word[0] & 3) | (word[4] & 3) << 2 | (word[8] & 3) << 4);
  }
  BlockQ6_K blk;
  PackQ6KCodes(codes, &blk);
  std::memcpy(blk.scales, in + 192, 16);
  std::memcpy(&blk.d, in + 208, 2);
  std::memcpy(block, &blk, sizeof blk);
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
  uint8_t panel_block[sizeof(BlockQ6_K)];
  uint8_t* to = base == DType::kQ6_K ? panel_block : out;
  ForEachPiece(base, r % kPanelRows, [&](size_t at_block, size_t at_group, size_t n) {
    std::memcpy(to + at_block, g + at_group, n);
  });
  if (base == DType::kQ6_K) Q6KFromPanelBlock(panel_block, out);
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
        uint8_t panel_block[sizeof(BlockQ6_K)];
        if (w.dtype == DType::kQ6_K) {
          Q6KToPanelBlock(blk, panel_block);
          blk = panel_block;
        }
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
