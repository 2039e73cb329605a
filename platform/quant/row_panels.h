// Q4_0, Q8_0, Q4_K and Q6_K matrices repacked into panels of 16 rows (DType::kQ4_0R16 /
// kQ8_0R16 / kQ4_KR16 / kQ6_KR16), the layout of the panel kernels (platform/kernels/
// quant_panels-inl.h, quant_panels_k-inl.h). The blocks are llama.cpp's (quant.h); only their
// byte order changes (and Q6_K's code bits, below), so a panel matrix has as many bytes as its
// row-major original and converts back to it exactly.
//
// Panel p (rows 16p .. 16p + 15) starts at byte 16 p x row_bytes. Within it, block column b
// (the b-th block of each of its rows) is a group of 16 x block_bytes bytes holding the 16 blocks'
// fields one after another, each field of all 16 rows together, as words of 4, 1 or all its
// bytes: word w of row r at field offset 16 x unit x w + unit x r, so that a 64-byte line of
// 4-byte words holds one word of each of the 16 rows: one vpdpbusd operand whose 16 int32 lanes
// are the panel's rows, or one 16-column row of an AMX B tile.
//   Q4_0 (18 bytes): d (rows), qs (4 words: low nibbles elements 4w .. 4w + 3, high 16 + 4w ..)
//   Q8_0 (34 bytes): d (rows), qs (8 words: elements 4w .. 4w + 3)
//   Q4_K (144 bytes): d (rows), dmin (rows), scales (3 words), qs (32 words: word w's low nibbles
//     are elements 4 (w % 8) .. + 3 of sub-block 2 (w / 8), its high nibbles the same of
//     sub-block 2 (w / 8) + 1)
//   Q6_K (210 bytes), recoded so that the kernels take codes with masks rather than shifts:
//     codes (48 words), scales (16 one-byte words: sub-block g's scale of row r at 16 g + r),
//     d (rows). The 6-bit codes c of sub-blocks 4u .. 4u + 3 (16 elements each), elements
//     4k .. 4k + 3 of each, are words 12u + 3k (A), + 1 (B), + 2 (C), byte by byte:
//       A = c(4u) << 2 | c(4u + 3) & 3,  B = c(4u + 1) << 2 | (c(4u + 3) >> 2) & 3,
//       C = c(4u + 2) << 2 | c(4u + 3) >> 4,
//     so A & 0xFC is 4 x the code of sub-block 4u (likewise B, C), and sub-block 4u + 3's code
//     is the low two bits of A, B and C. The recoding is a bijection of the block's ql and qh.
//
// Arithmetic of the panel products (every target, bit for bit), for each (row, token), in block
// order from acc = 0, with exact integer sums of weight codes x activation codes:
//   Q4_0, Q8_0: s_b of block b (Q4_0 codes - 8), d_b = f16(d) x da_b (float);
//     acc = fma(float(s_b), d_b, acc).
//   Q4_K: isum = sum over sub-blocks j of sc_j x s_j, msum = sum of m_j x (sub-block j's activation
//     sum), da the block's Q8_K scale; acc = fma(float(isum), f16(d) x da, acc), then
//     acc = fma(float(msum), -(f16(dmin) x da), acc).
//   Q6_K: isum = sum over the 16 sub-blocks g of sc_g x s_g (codes - 32);
//     acc = fma(float(isum), f16(d) x da, acc).
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/base/dtype.h"
#include "platform/base/tensor.h"

namespace floe {

// Whether a matrix of `t` with these dimensions can be repacked: Q4_0, Q8_0, Q4_K or Q6_K, rows a
// positive multiple of 16, cols a positive multiple of the block.
bool CanRepackRowPanels(DType t, size_t rows, size_t cols);
// The panel type of Q4_0 / Q8_0 / Q4_K / Q6_K.
DType RowPanelsTypeOf(DType t);

// Byte offsets, within a block column's group, of the fields the kernels read.
inline constexpr size_t kQ4KPanelDmin = 32, kQ4KPanelScales = 64, kQ4KPanelQs = 256;
inline constexpr size_t kQ6KPanelScales = 3072, kQ6KPanelD = 3328;

// Writes panels [p0, p1) of row-major `w` (CanRepackRowPanels) into `out` at the offsets they
// have in the panel matrix (out is the panel matrix's data, w.bytes() bytes).
void RepackRowPanels(const TensorView& w, size_t p0, size_t p1, uint8_t* out);

// Writes row r of panel matrix `w` in its row-major layout (w.row_bytes() bytes) to `out`.
void RowPanelsRowToBlocks(const TensorView& w, size_t r, uint8_t* out);

// ToF32 of a panel matrix: n elements from element `offset`, both multiples of the block.
void DequantizeRowPanels(const TensorView& w, size_t offset, size_t n, float* out);

}  // namespace floe
