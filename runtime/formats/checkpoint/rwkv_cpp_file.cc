#include "runtime/formats/checkpoint/rwkv_cpp_file.h"

#include <cstring>
#include <string>
#include <unordered_set>

#include "platform/base/byte_reader.h"

namespace floe {

namespace {

// rwkv.cpp's ggml-era type ids; only F32/F16 are decoded.
const char* RwkvCppTypeName(int32_t t) {
  switch (t) {
    case 0:
      return "FP32";
    case 1:
      return "FP16";
    case 2:
      return "Q4_0";
    case 3:
      return "Q4_1";
    case 4:
      return "Q4_1_O";
    case 5:
      return "Q4_2";
    case 6:
      return "Q4_3";
    case 7:
      return "Q5_0";
    case 8:
      return "Q5_1";
    case 9:
      return "Q8_0";
  }
  return nullptr;
}

constexpr int32_t kMaxNameLen = 1024;
constexpr size_t kMaxTensors = 1 << 20;

}  // namespace

bool LooksLikeRwkvCppFile(const uint8_t* data, size_t size) {
  uint32_t magic = 0;
  if (size < 4) return false;
  std::memcpy(&magic, data, 4);
  return magic == kRwkvCppMagic;
}

Result<RwkvCppFile> ReadRwkvCppFile(const uint8_t* data, size_t size) {
  ByteReader r(data, size);
  int32_t h[6];
  for (int i = 0; i < 6; ++i) FLOE_RETURN_IF_ERROR(r.Read(&h[i], "rwkv.cpp header"));
  if (uint32_t(h[0]) != kRwkvCppMagic) return CorruptData("not an rwkv.cpp file (bad magic)");
  if (h[1] < 100 || h[1] > 101)
    return Unsupported("rwkv.cpp file version " + std::to_string(h[1]) + " (supported: 100, 101)");
  if (h[2] <= 0 || h[3] <= 0 || h[4] <= 0 || h[2] > (1 << 24) || h[3] > (1 << 16) || h[4] > 4096)
    return CorruptData("rwkv.cpp header has implausible sizes: n_vocab " + std::to_string(h[2]) +
                       ", n_embed " + std::to_string(h[3]) + ", n_layer " + std::to_string(h[4]));
  RwkvCppFile f;
  f.version = uint32_t(h[1]);
  f.n_vocab = uint32_t(h[2]);
  f.n_embed = uint32_t(h[3]);
  f.n_layer = uint32_t(h[4]);
  std::unordered_set<std::string> seen;
  while (r.remaining() > 0) {
    if (f.tensors.tensors.size() >= kMaxTensors)
      return CorruptData("rwkv.cpp file has too many tensors");
    int32_t n_dims = 0, name_len = 0, type = 0;
    FLOE_RETURN_IF_ERROR(r.Read(&n_dims, "tensor header"));
    FLOE_RETURN_IF_ERROR(r.Read(&name_len, "tensor header"));
    FLOE_RETURN_IF_ERROR(r.Read(&type, "tensor header"));
    const std::string at = " (tensor #" + std::to_string(f.tensors.tensors.size()) + ")";
    if (n_dims < 1 || n_dims > 4)
      return CorruptData("tensor has " + std::to_string(n_dims) + " dimensions" + at);
    if (name_len < 1 || name_len > kMaxNameLen)
      return CorruptData("tensor name length " + std::to_string(name_len) + at);
    int32_t ne[4] = {1, 1, 1, 1};
    for (int d = 0; d < n_dims; ++d) {
      FLOE_RETURN_IF_ERROR(r.Read(&ne[d], "tensor shape"));
      if (ne[d] <= 0) return CorruptData("tensor dimension " + std::to_string(ne[d]) + at);
    }
    NamedTensor t;
    FLOE_RETURN_IF_ERROR(r.ReadString(size_t(name_len), &t.name, "tensor name"));
    if (type != 0 && type != 1) {
      const char* name = RwkvCppTypeName(type);
      return Unsupported("tensor '" + t.name + "' has rwkv.cpp data type " +
                         (name ? std::string(name) : std::to_string(type)) +
                         "; floe reads FP32 and FP16 rwkv.cpp files");
    }
    t.dtype = type == 0 ? DType::kF32 : DType::kF16;
    unsigned __int128 n = 1;
    for (int d = n_dims - 1; d >= 0; --d) {
      t.shape.push_back(uint64_t(ne[d]));
      n *= uint64_t(ne[d]);
    }
    const unsigned __int128 bytes = n * DTypeSize(t.dtype);
    if (bytes > r.remaining())
      return CorruptData("tensor '" + t.name + "' needs " + std::to_string(uint64_t(bytes)) +
                         " bytes but only " + std::to_string(r.remaining()) + " remain");
    t.bytes = size_t(bytes);
    FLOE_RETURN_IF_ERROR(r.ReadBytes(t.bytes, &t.data, "tensor data"));
    if (!seen.insert(t.name).second) return CorruptData("tensor '" + t.name + "' appears twice");
    f.tensors.tensors.push_back(std::move(t));
  }
  return f;
}

}  // namespace floe
