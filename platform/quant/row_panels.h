// Q4_0 and Q8_0 matrices repacked into panels of 16 rows (DType::kQ4_0R16 / kQ8_0R16), the
// layout of the panel kernels (platform/kernels/quant_panels-inl.h). The blocks are llama.cpp's
// (quant.h); only their order changes, so a panel matrix has the same bytes as its row-major
// original and converts back to it exactly.
//
// Panel p (rows 16p .. 16p + 15) starts at byte 16 p x row_bytes. Within it, block column b
// (elements 32b .. 32b + 31 of each of its rows) is a group of 16 x block_bytes bytes:
//   bytes [0, 32): the 16 rows' f16 scales d, row by row;
//   then the rows' code bytes as 4-byte words, word-major: word w of row r at 32 + 64 w + 4 r,
//   where word w of a block is its code bytes qs[4w .. 4w + 3] (Q8_0: 8 words, elements
//   4w .. 4w + 3; Q4_0: 4 words, low nibbles elements 4w .. 4w + 3, high nibbles 16 + 4w ..).
// So each 64-byte line holds one word of each of the 16 rows: one vpdpbusd operand whose 16 int32
// lanes are the panel's rows, summing a whole block per row without a horizontal reduction.
//
// Arithmetic of the panel products (every target, bit for bit): for each (row, token), with
// s_b the exact integer dot product of block b's codes (Q4_0: code - 8) with the activation codes
// and d_b = f16(weight d) x activation d in float, acc = fma(float(s_b), d_b, acc) in block order
// from acc = 0.
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/base/dtype.h"
#include "platform/base/tensor.h"

namespace floe {

// Whether a matrix of `t` with these dimensions can be repacked: Q4_0 or Q8_0, rows a positive
// multiple of 16, cols a positive multiple of 32.
bool CanRepackRowPanels(DType t, size_t rows, size_t cols);
// The panel type of Q4_0 / Q8_0.
DType RowPanelsTypeOf(DType t);

// Writes panels [p0, p1) of row-major `w` (CanRepackRowPanels) into `out` at the offsets they
// have in the panel matrix (out is the panel matrix's data, w.bytes() bytes).
void RepackRowPanels(const TensorView& w, size_t p0, size_t p1, uint8_t* out);

// Writes row r of panel matrix `w` in its row-major layout (w.row_bytes() bytes) to `out`.
void RowPanelsRowToBlocks(const TensorView& w, size_t r, uint8_t* out);

// ToF32 of a panel matrix: n elements from element `offset`, both multiples of 32.
void DequantizeRowPanels(const TensorView& w, size_t offset, size_t n, float* out);

}  // namespace floe
