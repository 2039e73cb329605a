// GGUF (llama.cpp's model container) types shared by the reader, writer and inspector, and
// the ggml tensor-type table (block size, bytes per block) they use to size tensor data.
//
// Format (versions 2 and 3, little-endian; v3 only added big-endian files, which we reject):
//   "GGUF" u32 version, u64 tensor_count, u64 kv_count,
//   kv_count x { string key, u32 GgufType, value },
//   tensor_count x { string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset },
//   padding to general.alignment (u32, default 32), then the data section; every tensor
//   offset is relative to it and a multiple of the alignment.
//   string = u64 length + bytes (no terminator); array = u32 elem type, u64 count, elements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "platform/base/dtype.h"
#include "platform/base/status.h"

namespace floe {

enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8,
  kUint16,
  kInt16,
  kUint32,
  kInt32,
  kFloat32,
  kBool,
  kString,
  kArray,
  kUint64,
  kInt64,
  kFloat64
};
inline constexpr uint32_t kGgufTypeCount = 13;

// "uint8", ..., "float64"; "unknown" for values outside the enum.
inline const char* GgufTypeName(GgufType t) {
  static constexpr const char* kNames[kGgufTypeCount] = {
      "uint8", "int8",   "uint16", "int16",  "uint32", "int32",  "float32",
      "bool",  "string", "array",  "uint64", "int64",  "float64"};
  const auto i = static_cast<uint32_t>(t);
  return i < kGgufTypeCount ? kNames[i] : "unknown";
}

inline bool GgufTypeIsUnsigned(GgufType t) {
  return t == GgufType::kUint8 || t == GgufType::kUint16 || t == GgufType::kUint32 ||
         t == GgufType::kUint64;
}
inline bool GgufTypeIsSigned(GgufType t) {
  return t == GgufType::kInt8 || t == GgufType::kInt16 || t == GgufType::kInt32 ||
         t == GgufType::kInt64;
}
inline bool GgufTypeIsFloat(GgufType t) {
  return t == GgufType::kFloat32 || t == GgufType::kFloat64;
}

// One metadata value. Exactly one scalar field is meaningful, chosen by `type`:
// unsigned integers -> u, signed integers -> i, FLOAT32/FLOAT64 -> f, BOOL -> b, STRING -> s.
// Arrays (type == kArray) hold elements of elem_type in `array`; every element's own `type`
// equals elem_type. Arrays of arrays are allowed one level deep (depth <= 2).
struct GgufValue {
  GgufType type = GgufType::kUint8;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string s;
  GgufType elem_type = GgufType::kUint8;
  std::vector<GgufValue> array;
};

inline constexpr int kGgufMaxArrayDepth = 2;  // an array may hold arrays of scalars, no deeper

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  // ggml order: ne[0] = row length (innermost); 1..4 entries
  uint32_t type = 0;         // ggml_type
  uint64_t offset = 0;       // relative to the data section
  uint64_t nbytes = 0;
  const uint8_t* data = nullptr;  // points into the file; valid while the GgufFile lives
};

inline constexpr size_t kGgufMaxDims = 4;

// ggml tensor types: elements per block and bytes per block (0 for unknown types).
struct GgmlTypeTraits {
  const char* name;
  uint32_t block_size;
  uint32_t block_bytes;
};

inline const GgmlTypeTraits* FindGgmlType(uint32_t type) {
  // Indexed by ggml_type; gaps (removed Q4_2/Q4_3 = 4,5; Q4_0_4_4.. = 31..33) are zero.
  static constexpr GgmlTypeTraits kTable[] = {
      {"f32", 1, 4},        {"f16", 1, 2},       {"q4_0", 32, 18},     {"q4_1", 32, 20},
      {nullptr, 0, 0},      {nullptr, 0, 0},     {"q5_0", 32, 22},     {"q5_1", 32, 24},
      {"q8_0", 32, 34},     {"q8_1", 32, 36},    {"q2_K", 256, 84},    {"q3_K", 256, 110},
      {"q4_K", 256, 144},   {"q5_K", 256, 176},  {"q6_K", 256, 210},   {"q8_K", 256, 292},
      {"iq2_xxs", 256, 66}, {"iq2_xs", 256, 74}, {"iq3_xxs", 256, 98}, {"iq1_s", 256, 50},
      {"iq4_nl", 32, 18},   {"iq3_s", 256, 110}, {"iq2_s", 256, 82},   {"iq4_xs", 256, 136},
      {"i8", 1, 1},         {"i16", 1, 2},       {"i32", 1, 4},        {"i64", 1, 8},
      {"f64", 1, 8},        {"iq1_m", 256, 56},  {"bf16", 1, 2},       {nullptr, 0, 0},
      {nullptr, 0, 0},      {nullptr, 0, 0},     {"tq1_0", 256, 54},   {"tq2_0", 256, 66},
      {nullptr, 0, 0},      {nullptr, 0, 0},     {nullptr, 0, 0},      {"mxfp4", 32, 17},
  };
  if (type >= sizeof(kTable) / sizeof(kTable[0]) || kTable[type].name == nullptr) return nullptr;
  return &kTable[type];
}

inline size_t GgmlTypeBlockSize(uint32_t type) {  // 0 if unknown
  const GgmlTypeTraits* t = FindGgmlType(type);
  return t ? t->block_size : 0;
}
inline size_t GgmlTypeBlockBytes(uint32_t type) {  // 0 if unknown
  const GgmlTypeTraits* t = FindGgmlType(type);
  return t ? t->block_bytes : 0;
}
// The DType floe computes with for a ggml type (the values coincide: f32 0, f16 1, q4_0 2,
// q4_1 3, q5_0 6, q5_1 7, q8_0 8, q2_K 10, q3_K 11, q4_K 12, q5_K 13, q6_K 14, bf16 30); false
// for every other type.
inline bool DTypeOfGgmlType(uint32_t type, DType* out) {
  switch (type) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 6:
    case 7:
    case 8:
    case 10:
    case 11:
    case 12:
    case 13:
    case 14:
    case 30:
      *out = static_cast<DType>(type);
      return true;
    default:
      return false;
  }
}

// The types DTypeOfGgmlType accepts, for error messages.
inline constexpr const char kComputedGgmlTypes[] =
    "f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q2_K, q3_K, q4_K, q5_K and q6_K";

inline const char* GgmlTypeName(uint32_t type) {  // "f32", "q4_0", ...; "unknown" otherwise
  const GgmlTypeTraits* t = FindGgmlType(type);
  return t ? t->name : "unknown";
}

// Bytes of a tensor of shape `ne` and ggml type `type`, checked: 1..4 dimensions, each >= 1,
// element count and byte size within int64, ne[0] a multiple of the type's block size.
// Errors (messages do not name the tensor; callers add it): Unsupported for an unknown type,
// CorruptData for everything else. Defined in gguf_reader.cc.
Status GgmlTensorBytes(const std::vector<uint64_t>& ne, uint32_t type, uint64_t* nbytes);

// "[4096, 32000]" (ggml order, ne[0] first).
std::string GgmlShapeString(const std::vector<uint64_t>& ne);

}  // namespace floe
