#include "runtime/formats/gguf/gguf_reader.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>

namespace floe {

namespace {

// The alignment a tensor of ggml type `type` needs to be read in place: its element size for
// plain types (at most 8), and for block-quantized types 4 when the block size allows (blocks
// with a float scale), else 2 (blocks start with an f16 scale).
uint32_t NaturalAlignment(uint32_t type) {
  const GgmlTypeTraits* t = FindGgmlType(type);
  if (t == nullptr || t->block_bytes == 0) return 1;
  if (t->block_size == 1) return std::min<uint32_t>(t->block_bytes, 8);
  return t->block_bytes % 4 == 0 ? 4 : 2;
}

constexpr uint64_t kInt64Max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
// Smallest possible encodings, used to reject counts the remaining bytes cannot hold before
// anything is allocated: a kv is key length (8) + type (4) + a 1-byte value; a tensor info is
// name length (8) + n_dims (4) + one ne (8) + type (4) + offset (8).
constexpr uint64_t kMinKvBytes = 13;
// Counts beyond any real file (llama.cpp's largest have a few thousand tensors and a few dozen
// keys): each entry costs ~200 B of index, so the caps bound it at ~200 MiB per table whatever
// the file's size.
constexpr uint64_t kMaxKvCount = uint64_t(1) << 20;
constexpr uint64_t kMaxTensorCount = uint64_t(1) << 20;
constexpr uint64_t kMinTensorInfoBytes = 32;

std::string Quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '\'';
  out.append(s);
  out += '\'';
  return out;
}

// Bytes the smallest element of type t occupies in an array.
uint64_t MinValueBytes(GgufType t) {
  switch (t) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
      return 8;
    case GgufType::kString:
      return 8;  // length only (empty string)
    case GgufType::kArray:
      return 12;  // elem type + count (empty array)
  }
  return 1;
}

// A GGUF string: u64 length + bytes. The length is checked against the bytes left first.
Status ReadGgufString(ByteReader& r, std::string* out, const char* what) {
  uint64_t len = 0;
  FLOE_RETURN_IF_ERROR(r.Read(&len, what));
  if (len > r.remaining()) {
    return CorruptData(std::string(what) + " at byte " + std::to_string(r.offset() - 8) +
                       " has length " + std::to_string(len) + " but only " +
                       std::to_string(r.remaining()) + " bytes are left");
  }
  return r.ReadString(static_cast<size_t>(len), out, what);
}

template <class T>
Status ReadScalar(ByteReader& r, T* out) {
  return r.Read(out, "value");
}

// Reads one value of `type` (already validated < kGgufTypeCount). `depth` is the number of
// arrays enclosing it. `budget` counts array elements left for the whole file.
Status ReadValue(ByteReader& r, GgufType type, int depth, uint64_t* budget, GgufValue* out) {
  out->type = type;
  switch (type) {
    case GgufType::kUint8: {
      uint8_t v = 0;
      FLOE_RETURN_IF_ERROR(ReadScalar(r, &v));
      out->u = v;
      return Status::Ok();
    }
    case GgufType::kInt8: {
      int8_t v = 0;
      FLOE_RETURN_IF_ERROR(ReadScalar(r, &v));
      out->i = v;
      return Status::Ok();
    }
    case GgufType::kUint16: {
      uint16_t v = 0;
      FLOE_RETURN_IF_ERROR(ReadScalar(r, &v));
      out->u = v;
      return Status::Ok();
    }
    case GgufType::kInt16: {
      int16_t v = 0;
      FLOE_RETURN_IF_ERROR(ReadScalar(r, &v));
      out->i = v;
      return Status::Ok();
    }
    case GgufType::kUint32: {
      uint32_t v = 0;
      FLOE_RETURN_IF_ERROR(ReadScalar(r, &v));
      out->u = v;
      return Status::Ok();
    }
    case GgufType::kInt32: {
      int32_t v = 0;
      FLOE_RETURN_IF_ERROR(ReadScalar(r, &v));
      out->i = v;
      return Status::Ok();
    }
    case GgufType::kUint64: {
      uint64_t v = 0;
      FLOE_RETURN_IF_ERROR(ReadScalar(r, &v));
      out->u = v;
      return Status::Ok();
    }
    case GgufType::kInt64: {
      int64_t v = 0;
      FLOE_RETURN_IF_ERROR(ReadScalar(r, &v));
      out->i = v;
      return Status::Ok();
    }
    case GgufType::kFloat32: {
      float v = 0;
      FLOE_RETURN_IF_ERROR(ReadScalar(r, &v));
      out->f = v;
      return Status::Ok();
    }
    case GgufType::kFloat64: {
      double v = 0;
      FLOE_RETURN_IF_ERROR(ReadScalar(r, &v));
      out->f = v;
      return Status::Ok();
    }
    case GgufType::kBool: {
      uint8_t v = 0;
      FLOE_RETURN_IF_ERROR(ReadScalar(r, &v));
      if (v > 1) return CorruptData("bool value is " + std::to_string(v) + " (must be 0 or 1)");
      out->b = v != 0;
      return Status::Ok();
    }
    case GgufType::kString:
      return ReadGgufString(r, &out->s, "string value");
    case GgufType::kArray:
      break;
  }
  // Array: u32 element type, u64 count, elements.
  const int my_depth = depth + 1;
  uint32_t et = 0;
  FLOE_RETURN_IF_ERROR(r.Read(&et, "array element type"));
  if (et >= kGgufTypeCount) {
    return CorruptData("array element type " + std::to_string(et) +
                       " is not a GGUF value type (0.." + std::to_string(kGgufTypeCount - 1) + ")");
  }
  const auto elem = static_cast<GgufType>(et);
  if (elem == GgufType::kArray && my_depth + 1 > kGgufMaxArrayDepth) {
    return CorruptData("arrays are nested more than " + std::to_string(kGgufMaxArrayDepth) +
                       " levels deep");
  }
  uint64_t count = 0;
  FLOE_RETURN_IF_ERROR(r.Read(&count, "array length"));
  const uint64_t min_bytes = MinValueBytes(elem);
  if (count > r.remaining() / min_bytes) {
    return CorruptData("array of " + std::to_string(count) + " " + GgufTypeName(elem) +
                       " elements needs at least " + std::to_string(min_bytes) +
                       " bytes each but only " + std::to_string(r.remaining()) + " bytes are left");
  }
  if (count > *budget) {
    return CorruptData("metadata arrays hold more elements in total than this " +
                       std::string("file's size allows (at most ") +
                       std::to_string(kGgufMaxMetadataValues) + ", and 16x the file's bytes " +
                       "plus 64 MiB of memory)");
  }
  *budget -= count;
  out->elem_type = elem;
  out->array.clear();
  out->array.reserve(static_cast<size_t>(count));
  for (uint64_t k = 0; k < count; ++k) {
    GgufValue& v = out->array.emplace_back();
    Status st = ReadValue(r, elem, my_depth, budget, &v);
    if (!st.ok()) return std::move(st).WithContext("element " + std::to_string(k));
  }
  return Status::Ok();
}

std::string DescribeType(const GgufValue& v) {
  if (v.type == GgufType::kArray) return std::string("array of ") + GgufTypeName(v.elem_type);
  return GgufTypeName(v.type);
}

Status TypeMismatch(std::string_view key, const GgufValue& v, const char* expected) {
  return InvalidArgument("metadata key " + Quote(key) + " is " + DescribeType(v) + ", expected " +
                         expected);
}

}  // namespace

Status GgmlTensorBytes(const std::vector<uint64_t>& ne, uint32_t type, uint64_t* nbytes) {
  if (ne.empty() || ne.size() > kGgufMaxDims) {
    return CorruptData("has " + std::to_string(ne.size()) + " dimensions (must be 1.." +
                       std::to_string(kGgufMaxDims) + ")");
  }
  const GgmlTypeTraits* t = FindGgmlType(type);
  if (t == nullptr) return Unsupported("unknown ggml tensor type " + std::to_string(type));
  uint64_t elements = 1;
  for (size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] == 0)
      return CorruptData("dimension " + std::to_string(d) + " of shape " + GgmlShapeString(ne) +
                         " is 0");
    if (ne[d] > kInt64Max / elements) {
      return CorruptData("shape " + GgmlShapeString(ne) + " has more than 2^63 elements");
    }
    elements *= ne[d];
  }
  if (ne[0] % t->block_size != 0) {
    return CorruptData("row length " + std::to_string(ne[0]) + " is not a multiple of the " +
                       t->name + " block size " + std::to_string(t->block_size));
  }
  const uint64_t blocks = elements / t->block_size;
  if (blocks > kInt64Max / t->block_bytes) {
    return CorruptData("shape " + GgmlShapeString(ne) + " of type " + t->name +
                       " needs more than 2^63 bytes");
  }
  *nbytes = blocks * t->block_bytes;
  return Status::Ok();
}

std::string GgmlShapeString(const std::vector<uint64_t>& ne) {
  std::string s = "[";
  for (size_t d = 0; d < ne.size(); ++d) {
    if (d) s += ", ";
    s += std::to_string(ne[d]);
  }
  return s + "]";
}

Result<GgufFile> GgufFile::Open(const std::string& path, FileLoadMode mode) {
  auto file = MappedFile::Open(path, mode);
  if (!file.ok()) return file.status();
  auto g = Parse(std::move(file).value());
  if (!g.ok()) return Status(g.status()).WithContext("'" + path + "'");
  return g;
}

Result<GgufFile> GgufFile::Parse(MappedFile file) {
  try {
    GgufFile g;
    g.file_ = std::move(file);
    FLOE_RETURN_IF_ERROR(g.ParseImpl(g.file_.data(), g.file_.size()));
    return Result<GgufFile>(std::move(g));
  } catch (const std::bad_alloc&) {
    return OutOfMemory("out of memory while parsing GGUF metadata");
  }
}

Result<GgufFile> GgufFile::ParseBytes(const uint8_t* data, size_t size) {
  if (data == nullptr && size != 0) return InvalidArgument("GGUF bytes: null data");
  try {
    GgufFile g;
    FLOE_RETURN_IF_ERROR(g.ParseImpl(data, size));
    return Result<GgufFile>(std::move(g));
  } catch (const std::bad_alloc&) {
    return OutOfMemory("out of memory while parsing GGUF metadata");
  }
}

Status GgufFile::ParseImpl(const uint8_t* data, size_t size) {
  ByteReader r(data, size);
  if (size < 4 || std::memcmp(data, "GGUF", 4) != 0) {
    std::string got;
    for (size_t k = 0; k < std::min<size_t>(size, 4); ++k) {
      const unsigned char c = data[k];
      static constexpr char kHex[] = "0123456789abcdef";
      if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
        got += char(c);
      } else {
        got += {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
      }
    }
    return CorruptData("not a GGUF file: starts with \"" + got + "\" instead of \"GGUF\"");
  }
  FLOE_RETURN_IF_ERROR(r.Skip(4, "magic"));
  FLOE_RETURN_IF_ERROR(r.Read(&version_, "GGUF version"));
  if (version_ != 2 && version_ != 3) {
    if ((version_ & 0xFFFFu) == 0 && version_ != 0) {
      return Unsupported("big-endian GGUF files are not supported");
    }
    return Unsupported("GGUF version " + std::to_string(version_) +
                       " is not supported (versions 2 and 3 are)");
  }
  uint64_t tensor_count = 0, kv_count = 0;
  FLOE_RETURN_IF_ERROR(r.Read(&tensor_count, "tensor count"));
  FLOE_RETURN_IF_ERROR(r.Read(&kv_count, "metadata count"));
  if (kv_count > kMaxKvCount || tensor_count > kMaxTensorCount) {
    return CorruptData("header claims " + std::to_string(kv_count) + " metadata entries and " +
                       std::to_string(tensor_count) + " tensors; at most " +
                       std::to_string(kMaxKvCount) + " of each are read");
  }
  const uint64_t left = r.remaining();
  if (kv_count > left / kMinKvBytes || tensor_count > left / kMinTensorInfoBytes ||
      kv_count * kMinKvBytes + tensor_count * kMinTensorInfoBytes > left) {
    return CorruptData("header claims " + std::to_string(kv_count) + " metadata entries and " +
                       std::to_string(tensor_count) + " tensors but only " + std::to_string(left) +
                       " bytes follow");
  }

  // Elements in proportion to the file too (docs/allocation-audit.md item 8): each costs a
  // GgufValue in memory (~100 B) however few bytes it takes in the file (1 for a u8). Real
  // vocabularies cost about 14x their bytes; a small file of byte arrays may cost at most
  // kGgufMetadataFloorBytes + 16x its size.
  const uint64_t by_size =
      (kGgufMetadataFloorBytes + 16 * uint64_t(r.size())) / uint64_t(sizeof(GgufValue));
  uint64_t budget = std::min<uint64_t>(kGgufMaxMetadataValues, by_size);
  metadata_.reserve(static_cast<size_t>(std::min<uint64_t>(kv_count, 4096)));  // grows if true
  for (uint64_t k = 0; k < kv_count; ++k) {
    std::string key;
    Status st = ReadGgufString(r, &key, "metadata key");
    if (!st.ok()) return std::move(st).WithContext("metadata entry " + std::to_string(k));
    if (key_index_.count(key)) return CorruptData("duplicate metadata key " + Quote(key));
    const std::string ctx = "metadata key " + Quote(key);
    uint32_t t = 0;
    st = r.Read(&t, "value type");
    if (!st.ok()) return std::move(st).WithContext(ctx);
    if (t >= kGgufTypeCount) {
      return CorruptData(ctx + ": unknown value type " + std::to_string(t) + " (valid: 0.." +
                         std::to_string(kGgufTypeCount - 1) + ")");
    }
    GgufValue v;
    st = ReadValue(r, static_cast<GgufType>(t), 0, &budget, &v);
    if (!st.ok()) return std::move(st).WithContext(ctx);
    key_index_.emplace(key, metadata_.size());
    metadata_.emplace_back(std::move(key), std::move(v));
  }

  if (const GgufValue* a = Find("general.alignment")) {
    if (a->type != GgufType::kUint32) {
      return CorruptData("general.alignment is " + DescribeType(*a) + ", must be uint32");
    }
    if (a->u == 0 || (a->u & (a->u - 1)) != 0 || a->u > kGgufMaxAlignment) {
      return CorruptData("general.alignment = " + std::to_string(a->u) +
                         " is not a power of two in 1.." + std::to_string(kGgufMaxAlignment));
    }
    alignment_ = static_cast<uint32_t>(a->u);
  }

  FLOE_RETURN_IF_ERROR(ParseTensorInfos(r, tensor_count));
  // The data section starts at the first multiple of the alignment after the infos
  // (offset <= size < 2^63 and alignment <= 2^30: no overflow).
  data_offset_ = (r.offset() + alignment_ - 1) / alignment_ * alignment_;
  return PlaceTensors(data, size);
}

Status GgufFile::ParseTensorInfos(ByteReader& r, uint64_t count) {
  tensors_.reserve(static_cast<size_t>(std::min<uint64_t>(count, 4096)));  // grows if true
  for (uint64_t k = 0; k < count; ++k) {
    GgufTensorInfo info;
    Status st = ReadGgufString(r, &info.name, "tensor name");
    if (!st.ok()) return std::move(st).WithContext("tensor info " + std::to_string(k));
    const std::string ctx = "tensor " + Quote(info.name);
    if (tensor_index_.count(info.name)) return CorruptData("duplicate " + ctx);
    uint32_t n_dims = 0;
    st = r.Read(&n_dims, "n_dims");
    if (!st.ok()) return std::move(st).WithContext(ctx);
    if (n_dims == 0 || n_dims > kGgufMaxDims) {
      return CorruptData(ctx + ": n_dims is " + std::to_string(n_dims) + " (must be 1.." +
                         std::to_string(kGgufMaxDims) + ")");
    }
    info.ne.resize(n_dims);
    for (uint32_t d = 0; d < n_dims && st.ok(); ++d) st = r.Read(&info.ne[d], "dimension");
    if (st.ok()) st = r.Read(&info.type, "tensor type");
    if (st.ok()) st = r.Read(&info.offset, "tensor data offset");
    if (st.ok()) st = GgmlTensorBytes(info.ne, info.type, &info.nbytes);
    if (!st.ok()) return std::move(st).WithContext(ctx);
    if (info.offset % alignment_ != 0) {
      return CorruptData(ctx + ": data offset " + std::to_string(info.offset) +
                         " is not a multiple of the alignment " + std::to_string(alignment_));
    }
    tensor_index_.emplace(info.name, tensors_.size());
    tensors_.push_back(std::move(info));
  }
  return Status::Ok();
}

Status GgufFile::PlaceTensors(const uint8_t* data, size_t size) {
  if (tensors_.empty()) return Status::Ok();  // a metadata-only file needs no data section
  if (data_offset_ > size) {
    return CorruptData("the data section would start at byte " + std::to_string(data_offset_) +
                       ", past the end of the " + std::to_string(size) + "-byte file");
  }
  const uint64_t section = size - data_offset_;
  for (GgufTensorInfo& t : tensors_) {
    if (t.offset > section || t.nbytes > section - t.offset) {
      return CorruptData("tensor " + Quote(t.name) + ": data at offset " +
                         std::to_string(t.offset) + " (" + std::to_string(t.nbytes) +
                         " bytes) ends past the end of the file (data section holds " +
                         std::to_string(section) + " bytes)");
    }
    t.data = data + data_offset_ + t.offset;
    // Tensors are used in place: each must sit at an address its elements may be read from
    // (a general.alignment of 1 or 2 can place an f32 tensor at an odd address).
    const uint32_t need = NaturalAlignment(t.type);
    if (reinterpret_cast<uintptr_t>(t.data) % need != 0) {
      return CorruptData("tensor " + Quote(t.name) + " (" + GgmlTypeName(t.type) + ") at byte " +
                         std::to_string(data_offset_ + t.offset) + " of the file is not " +
                         std::to_string(need) + "-byte aligned (general.alignment " +
                         std::to_string(alignment_) +
                         "); floe uses tensors in place and needs them aligned to their elements");
    }
  }
  std::vector<const GgufTensorInfo*> order;
  order.reserve(tensors_.size());
  for (const GgufTensorInfo& t : tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t k = 1; k < order.size(); ++k) {
    const GgufTensorInfo& a = *order[k - 1];
    const GgufTensorInfo& b = *order[k];
    if (a.offset + a.nbytes > b.offset) {  // both within the file: no overflow
      return CorruptData("tensors " + Quote(a.name) + " and " + Quote(b.name) +
                         " overlap in the data section (offsets " + std::to_string(a.offset) +
                         " and " + std::to_string(b.offset) + ")");
    }
  }
  return Status::Ok();
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].second;
}

Result<const GgufValue*> GgufFile::FindRequired(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFound("metadata key " + Quote(key) + " is missing");
  return v;
}

Result<const GgufValue*> GgufFile::FindArray(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const GgufValue* v, FindRequired(key));
  if (v->type != GgufType::kArray) return TypeMismatch(key, *v, "an array");
  return v;
}

Result<uint64_t> GgufFile::GetUint(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const GgufValue* v, FindRequired(key));
  if (GgufTypeIsUnsigned(v->type)) return v->u;
  if (!GgufTypeIsSigned(v->type)) return TypeMismatch(key, *v, "an integer");
  if (v->i < 0) {
    return CorruptData("metadata key " + Quote(key) + " = " + std::to_string(v->i) +
                       " is negative, expected an unsigned integer");
  }
  return static_cast<uint64_t>(v->i);
}

Result<int64_t> GgufFile::GetInt(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const GgufValue* v, FindRequired(key));
  if (GgufTypeIsSigned(v->type)) return v->i;
  if (!GgufTypeIsUnsigned(v->type)) return TypeMismatch(key, *v, "an integer");
  if (v->u > kInt64Max) {
    return CorruptData("metadata key " + Quote(key) + " = " + std::to_string(v->u) +
                       " does not fit a signed 64-bit integer");
  }
  return static_cast<int64_t>(v->u);
}

Result<double> GgufFile::GetFloat(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const GgufValue* v, FindRequired(key));
  if (GgufTypeIsFloat(v->type)) return v->f;
  if (GgufTypeIsUnsigned(v->type)) return static_cast<double>(v->u);
  if (GgufTypeIsSigned(v->type)) return static_cast<double>(v->i);
  return TypeMismatch(key, *v, "a number");
}

Result<bool> GgufFile::GetBool(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const GgufValue* v, FindRequired(key));
  if (v->type != GgufType::kBool) return TypeMismatch(key, *v, "bool");
  return v->b;
}

Result<std::string> GgufFile::GetString(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const GgufValue* v, FindRequired(key));
  if (v->type != GgufType::kString) return TypeMismatch(key, *v, "string");
  return v->s;
}

Result<std::vector<std::string>> GgufFile::GetStringArray(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const GgufValue* v, FindArray(key));
  if (v->elem_type != GgufType::kString) return TypeMismatch(key, *v, "an array of string");
  std::vector<std::string> out;
  out.reserve(v->array.size());
  for (const GgufValue& e : v->array) out.push_back(e.s);
  return out;
}

Result<std::vector<float>> GgufFile::GetFloatArray(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const GgufValue* v, FindArray(key));
  const GgufType et = v->elem_type;
  if (!GgufTypeIsFloat(et) && !GgufTypeIsUnsigned(et) && !GgufTypeIsSigned(et)) {
    return TypeMismatch(key, *v, "an array of numbers");
  }
  std::vector<float> out;
  out.reserve(v->array.size());
  for (const GgufValue& e : v->array) {
    out.push_back(GgufTypeIsFloat(et)      ? static_cast<float>(e.f)
                  : GgufTypeIsUnsigned(et) ? static_cast<float>(e.u)
                                           : static_cast<float>(e.i));
  }
  return out;
}

Result<std::vector<int32_t>> GgufFile::GetInt32Array(std::string_view key) const {
  FLOE_ASSIGN_OR_RETURN(const GgufValue* v, FindArray(key));
  const GgufType et = v->elem_type;
  if (!GgufTypeIsUnsigned(et) && !GgufTypeIsSigned(et)) {
    return TypeMismatch(key, *v, "an array of integers");
  }
  constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  std::vector<int32_t> out;
  out.reserve(v->array.size());
  for (size_t k = 0; k < v->array.size(); ++k) {
    const GgufValue& e = v->array[k];
    const bool fits = GgufTypeIsUnsigned(et) ? e.u <= uint64_t(kMax) : (e.i >= kMin && e.i <= kMax);
    if (!fits) {
      return CorruptData("metadata key " + Quote(key) + "[" + std::to_string(k) + "] = " +
                         (GgufTypeIsUnsigned(et) ? std::to_string(e.u) : std::to_string(e.i)) +
                         " does not fit int32");
    }
    out.push_back(static_cast<int32_t>(GgufTypeIsUnsigned(et) ? int64_t(e.u) : e.i));
  }
  return out;
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Result<TensorView> GgufFile::GetTensorView(std::string_view name) const {
  const GgufTensorInfo* t = FindTensor(name);
  if (t == nullptr) return NotFound("tensor " + Quote(name) + " is missing");
  TensorView v;
  if (!DTypeOfGgmlType(t->type, &v.dtype))
    return Unsupported("tensor " + Quote(name) + " has type " + GgmlTypeName(t->type) +
                       "; floe computes with " + kComputedGgmlTypes);
  if (t->ne.empty() || t->ne[0] % DTypeBlockElems(v.dtype) != 0)
    return CorruptData("tensor " + Quote(name) + ": row length is not a multiple of the " +
                       GgmlTypeName(t->type) + " block");
  uint64_t rows = 1;
  for (size_t d = 1; d < t->ne.size(); ++d) rows *= t->ne[d];  // fits: checked at parse time
  v.data = t->data;
  v.cols = static_cast<size_t>(t->ne[0]);
  v.rows = static_cast<size_t>(rows);
  return v;
}

}  // namespace floe
