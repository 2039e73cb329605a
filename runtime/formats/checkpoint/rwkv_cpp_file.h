// rwkv.cpp model files (RWKV/rwkv.cpp docs/FILE_FORMAT.md), read as a TensorSet.
// Layout, little-endian: 6 x int32 header {magic 0x67676d66 "ggmf", version 100/101,
// n_vocab, n_embed, n_layer, data_type}, then tensors until EOF, each
//   int32 n_dims (1..3), int32 name_len, int32 data_type, int32 ne[n_dims], name, raw data
// with ne in ggml order (innermost first). Shapes are returned in PyTorch order (reversed ne).
// Tensor data types: 0 = F32, 1 = F16 (quantized rwkv.cpp types are kUnsupported, named).
// Tensors are views into `data`, which must outlive the result.
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/base/status.h"
#include "platform/base/tensor_set.h"

namespace floe {

inline constexpr uint32_t kRwkvCppMagic = 0x67676d66u;

struct RwkvCppFile {
  uint32_t version = 0;
  uint32_t n_vocab = 0;
  uint32_t n_embed = 0;
  uint32_t n_layer = 0;
  TensorSet tensors;
};

// True when the first bytes are the rwkv.cpp magic.
bool LooksLikeRwkvCppFile(const uint8_t* data, size_t size);

Result<RwkvCppFile> ReadRwkvCppFile(const uint8_t* data, size_t size);

}  // namespace floe
