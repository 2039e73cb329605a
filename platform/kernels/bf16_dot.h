// AVX512-BF16 products of BF16 weight matrices (bf16_dot-inl.h): whether this process uses them.
// Where it does, MatVec and MatMul of a BF16 matrix round each activation to bf16 (round to
// nearest even) and sum exact bf16 x bf16 products with vdpbf16ps, as llama.cpp does for BF16
// weights; otherwise the weights are widened to float and meet float activations
// (ops-inl.h's BF16Weights). Opt-in: why, with the measurements, in docs/quantization.md
// ("BF16 matrices").
#pragma once

#include <cstddef>

namespace floe {

// bf16 elements per activation row of the bf16 products: cols rounded up to whole 512-bit
// vectors (the rest zero).
constexpr size_t Bf16ActivationStride(size_t cols) { return (cols + 31) / 32 * 32; }

// True when the CPU has AVX512-BF16 and either FLOE_BF16_DOT is "1" (read once) or a
// ScopedBf16Dot(true) is alive, and no ScopedBf16Dot(false) is. The per-target code also requires
// an AVX-512 target. Thread-safe.
bool Bf16DotUsable();

// For tests: while alive, the bf16 products are asked for (on) or declined (off), whatever
// FLOE_BF16_DOT says. Process-wide; not nestable.
class ScopedBf16Dot {
 public:
  explicit ScopedBf16Dot(bool on);
  ~ScopedBf16Dot();
  ScopedBf16Dot(const ScopedBf16Dot&) = delete;
  ScopedBf16Dot& operator=(const ScopedBf16Dot&) = delete;
};

}  // namespace floe
