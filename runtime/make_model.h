// `floe make-model` and `floe quantize`: benchmark models and weight quantization, as GGUF files
// in llama.cpp's "llama" layout that llama.cpp itself loads.
//
// make-model writes a random-weight Llama of a realistic shape with a valid SentencePiece
// vocabulary (<unk>, <s>, </s>, the 256 byte pieces <0x00>..<0xFF>, printable ASCII with and
// without the "▁" word prefix, then filler pieces "▁tN"), weights uniform with std 0.02 (the
// usual init scale: activations stay finite over long contexts), RMSNorm weights 1. The float
// weights depend only on the preset and seed, so f32/f16/q8_0/q4_0 files of one seed are
// quantizations of the same model.
//   tiny: dim 256, 4 layers, 8 heads (4 KV), ffn 768, vocab 32000, context 32768
//   110m: dim 768, 12 layers, 12 heads, ffn 2048, vocab 32000, context 32768
//   1b:   dim 2048, 16 layers, 32 heads, 8 KV heads, ffn 8192, vocab 32000, context 32768
#pragma once

#include <cstdint>
#include <string>

#include "platform/dtype.h"
#include "platform/status.h"

namespace floe {

struct MakeModelOptions {
  std::string arch = "llama";   // llama | qwen2 (adds q/k/v biases, NeoX RoPE)
  std::string preset = "tiny";  // tiny | 110m | 1b
  DType type = DType::kF32;     // f32 | f16 | q8_0 | q4_0 (matrices; norms stay f32)
  uint64_t seed = 1;
  // Trained context written to the metadata (0: the preset's 32768). Only the metadata changes:
  // the weights depend on the preset and seed alone, so a long-context file of one seed is the
  // same model (benchmarks at depths past 32k, e.g. IceFormer at 64k).
  size_t context_length = 0;
  std::string output_path;
};

Status MakeRandomLlamaGguf(const MakeModelOptions& options);

// Copies a GGUF, quantizing every 2-D f32/f16/bf16 matrix whose rows are a multiple of 32 to
// `type` (kQ8_0 or kQ4_0, llama.cpp's reference rounding); 1-D tensors are copied unchanged.
// Sets general.file_type (7 = mostly Q8_0, 2 = mostly Q4_0).
Status QuantizeGguf(const std::string& input_path, const std::string& output_path, DType type);

// "f32" -> kF32 etc. for f32, f16, bf16, q8_0, q4_0, q4_K, q6_K; kInvalidArgument otherwise.
Result<DType> ParseDType(const std::string& name);

}  // namespace floe
