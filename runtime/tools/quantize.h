// `floe quantize`: a GGUF's float matrices to a quantized type, with llama.cpp's reference
// rounding (the bytes llama-quantize writes without an importance matrix) and, for the _M
// mixtures, llama-quantize's choice of type per tensor.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "platform/base/dtype.h"
#include "platform/base/status.h"
#include "runtime/formats/gguf/gguf_reader.h"

namespace floe {

// A `--type` value.
//   q8_0 q4_0 q4_1 q5_0 q5_1 q4_K q5_K: every quantizable matrix in the one type (output.weight
//     and token_embd.weight included), as `llama-quantize --pure`;
//   q6_K: llama-quantize's Q6_K (every matrix q6_K, which is also its output rule);
//   q4_K_M q5_K_M: llama-quantize's mixtures: q4_K (q5_K) for most matrices, q6_K for the
//     output matrix and for attn_v / ffn_down of the layers use_more_bits picks (the first and
//     last eighth, every third in between), attn_qkv in q5_K (q6_K).
//   f16 bf16: every quantizable matrix in IEEE half / bfloat16 (round to nearest even), as
//     llama-quantize F16 / BF16;
// K-quant rows that are not a multiple of 256 take llama.cpp's fallback: q4_K -> q5_0,
// q5_K -> q5_1, q6_K -> q8_0 (the output rule: q8_0).
struct QuantizeScheme {
  std::string name;
  DType base = DType::kQ8_0;
  bool mixture = false;
  uint32_t file_type = 0;  // general.file_type, llama.cpp's llama_ftype
};

// kInvalidArgument naming the accepted values for anything else (case-insensitive "k").
Result<QuantizeScheme> ParseQuantizeScheme(const std::string& name);

// The ggml type each tensor of `in` (in its order) is written in; a tensor copied unchanged keeps
// its own type. Quantized: the tensors llama-quantize quantizes (names ending in "weight", not
// norms, RWKV's LoRA / lerp / bonus tensors and the like) that are 2-D f32/f16/bf16 with more
// than one row and rows a multiple of 32 (any length for f16 / bf16); other tensors are copied.
std::vector<uint32_t> PlanQuantizedTypes(const GgufFile& in, const QuantizeScheme& scheme);

struct QuantizeOptions {
  int threads = 0;  // rows of a tensor are quantized in parallel; 0: the physical cores
  // Called before each tensor is written (index of count, its name and the type written), on
  // the calling thread.
  std::function<void(size_t index, size_t count, const std::string& name, uint32_t type)> progress;
};

// Copies a GGUF, writing each tensor in the planned type and setting general.file_type. Tensors
// are converted one at a time while the file is written: memory holds the mapped input and one
// output tensor, not the whole output.
Status QuantizeGguf(const std::string& input_path, const std::string& output_path,
                    const QuantizeScheme& scheme, const QuantizeOptions& options = {});
// The scheme named by the type (q8_0, q4_0, q4_1, q5_0, q5_1, q4_K, q5_K, q6_K).
Status QuantizeGguf(const std::string& input_path, const std::string& output_path, DType type);

}  // namespace floe
