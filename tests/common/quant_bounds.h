// Round-trip error bounds of llama.cpp's min/max block formats (Q4_1, Q5_1), derived from
// quantize_row_q4_1_ref / quantize_row_q5_1_ref's arithmetic, for tests.
#pragma once

#include <algorithm>
#include <cmath>

namespace floe::testing {

// The largest |dequantized - x| for an element of a block of 32 floats spanning [lo, hi],
// quantized with `levels` steps (15 for Q4_1, 31 for Q5_1). The reference quantizer takes
// d = (hi - lo) / levels, m = lo and code c = trunc((x - lo) / d + 0.5) (<= levels), stores d and
// m as fp16; dequantization gives c * fp16(d) + fp16(m). So
//   |y - x| <= |c d - (x - lo)|     <= d / 2                (rounding to the nearest code)
//            + c |fp16(d) - d|       <= levels d 2^-11 = (hi - lo) 2^-11   (fp16 unit roundoff)
//            + |fp16(m) - m|         <= |lo| 2^-11
//            + f32 arithmetic of the code and of c d + m, <= (hi - lo + |lo|) 2^-20,
//            + fp16 subnormals (d or m below 2^-14: absolute error 2^-25, times c + 1).
inline float MinMaxBlockBound(float lo, float hi, int levels) {
  const float span = hi - lo;
  return 0.5f * span / float(levels) + (span + std::fabs(lo)) * (0x1p-11f + 0x1p-20f) +
         float(levels + 1) * 0x1p-25f;
}

}  // namespace floe::testing
