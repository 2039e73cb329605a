#include "runtime/formats/gguf/gguf_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <new>
#include <type_traits>

#include "platform/base/output_file.h"

namespace floe {

namespace {

constexpr uint32_t kGgufVersion = 3;

template <class T>
void Put(std::string* out, T v) {
  static_assert(std::is_trivially_copyable_v<T>);
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // little-endian hosts only (as the reader)
  out->append(b, sizeof(T));
}

void PutString(std::string* out, const std::string& s) {
  Put<uint64_t>(out, s.size());
  out->append(s);
}

GgufValue Scalar(GgufType t) {
  GgufValue v;
  v.type = t;
  return v;
}

// Checks that `v` can be written and read back: known types, consistent arrays, depth,
// integer ranges. Messages name the problem; the caller adds the key.
Status CheckValue(const GgufValue& v, int depth) {
  const auto t = static_cast<uint32_t>(v.type);
  if (t >= kGgufTypeCount) return InvalidArgument("unknown value type " + std::to_string(t));
  auto range_u = [&](uint64_t max) -> Status {
    if (v.u > max) {
      return InvalidArgument(std::to_string(v.u) + " does not fit " + GgufTypeName(v.type));
    }
    return Status::Ok();
  };
  auto range_i = [&](int64_t min, int64_t max) -> Status {
    if (v.i < min || v.i > max) {
      return InvalidArgument(std::to_string(v.i) + " does not fit " + GgufTypeName(v.type));
    }
    return Status::Ok();
  };
  switch (v.type) {
    case GgufType::kUint8:
      return range_u(0xFF);
    case GgufType::kUint16:
      return range_u(0xFFFF);
    case GgufType::kUint32:
      return range_u(0xFFFFFFFFu);
    case GgufType::kInt8:
      return range_i(-128, 127);
    case GgufType::kInt16:
      return range_i(-32768, 32767);
    case GgufType::kInt32:
      return range_i(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
    case GgufType::kArray:
      break;
    default:
      return Status::Ok();
  }
  const int my_depth = depth + 1;
  const auto et = static_cast<uint32_t>(v.elem_type);
  if (et >= kGgufTypeCount)
    return InvalidArgument("unknown array element type " + std::to_string(et));
  if (v.elem_type == GgufType::kArray && my_depth + 1 > kGgufMaxArrayDepth) {
    return InvalidArgument("arrays nested more than " + std::to_string(kGgufMaxArrayDepth) +
                           " levels deep");
  }
  for (size_t k = 0; k < v.array.size(); ++k) {
    const GgufValue& e = v.array[k];
    if (e.type != v.elem_type) {
      return InvalidArgument("element " + std::to_string(k) + " is " + GgufTypeName(e.type) +
                             " in an array of " + GgufTypeName(v.elem_type));
    }
    Status st = CheckValue(e, my_depth);
    if (!st.ok()) return std::move(st).WithContext("element " + std::to_string(k));
  }
  return Status::Ok();
}

// Appends the encoding of `v` without its type tag (CheckValue passed).
void PutValue(std::string* out, const GgufValue& v) {
  switch (v.type) {
    case GgufType::kUint8:
      Put<uint8_t>(out, uint8_t(v.u));
      return;
    case GgufType::kInt8:
      Put<int8_t>(out, int8_t(v.i));
      return;
    case GgufType::kUint16:
      Put<uint16_t>(out, uint16_t(v.u));
      return;
    case GgufType::kInt16:
      Put<int16_t>(out, int16_t(v.i));
      return;
    case GgufType::kUint32:
      Put<uint32_t>(out, uint32_t(v.u));
      return;
    case GgufType::kInt32:
      Put<int32_t>(out, int32_t(v.i));
      return;
    case GgufType::kUint64:
      Put<uint64_t>(out, v.u);
      return;
    case GgufType::kInt64:
      Put<int64_t>(out, v.i);
      return;
    case GgufType::kFloat32:
      Put<float>(out, float(v.f));
      return;
    case GgufType::kFloat64:
      Put<double>(out, v.f);
      return;
    case GgufType::kBool:
      Put<uint8_t>(out, v.b ? 1 : 0);
      return;
    case GgufType::kString:
      PutString(out, v.s);
      return;
    case GgufType::kArray:
      Put<uint32_t>(out, static_cast<uint32_t>(v.elem_type));
      Put<uint64_t>(out, v.array.size());
      for (const GgufValue& e : v.array) PutValue(out, e);
      return;
  }
}

uint64_t AlignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// Sink for the file body: appends bytes somewhere, or fails.
using Sink = std::function<Status(const void* data, size_t n)>;

}  // namespace

void GgufWriter::SetValue(std::string key, GgufValue v) {
  for (auto& kv : kv_) {
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  }
  kv_.emplace_back(std::move(key), std::move(v));
}

void GgufWriter::SetUint32(std::string key, uint32_t x) {
  GgufValue v = Scalar(GgufType::kUint32);
  v.u = x;
  SetValue(std::move(key), std::move(v));
}
void GgufWriter::SetInt32(std::string key, int32_t x) {
  GgufValue v = Scalar(GgufType::kInt32);
  v.i = x;
  SetValue(std::move(key), std::move(v));
}
void GgufWriter::SetUint64(std::string key, uint64_t x) {
  GgufValue v = Scalar(GgufType::kUint64);
  v.u = x;
  SetValue(std::move(key), std::move(v));
}
void GgufWriter::SetFloat32(std::string key, float x) {
  GgufValue v = Scalar(GgufType::kFloat32);
  v.f = x;
  SetValue(std::move(key), std::move(v));
}
void GgufWriter::SetBool(std::string key, bool x) {
  GgufValue v = Scalar(GgufType::kBool);
  v.b = x;
  SetValue(std::move(key), std::move(v));
}
void GgufWriter::SetString(std::string key, std::string x) {
  GgufValue v = Scalar(GgufType::kString);
  v.s = std::move(x);
  SetValue(std::move(key), std::move(v));
}
void GgufWriter::SetStringArray(std::string key, std::vector<std::string> x) {
  GgufValue v = Scalar(GgufType::kArray);
  v.elem_type = GgufType::kString;
  v.array.resize(x.size(), Scalar(GgufType::kString));
  for (size_t k = 0; k < x.size(); ++k) v.array[k].s = std::move(x[k]);
  SetValue(std::move(key), std::move(v));
}
void GgufWriter::SetFloat32Array(std::string key, std::vector<float> x) {
  GgufValue v = Scalar(GgufType::kArray);
  v.elem_type = GgufType::kFloat32;
  v.array.resize(x.size(), Scalar(GgufType::kFloat32));
  for (size_t k = 0; k < x.size(); ++k) v.array[k].f = x[k];
  SetValue(std::move(key), std::move(v));
}
void GgufWriter::SetInt32Array(std::string key, std::vector<int32_t> x) {
  GgufValue v = Scalar(GgufType::kArray);
  v.elem_type = GgufType::kInt32;
  v.array.resize(x.size(), Scalar(GgufType::kInt32));
  for (size_t k = 0; k < x.size(); ++k) v.array[k].i = x[k];
  SetValue(std::move(key), std::move(v));
}

Status GgufWriter::CheckNewTensor(const std::string& name, const std::vector<uint64_t>& ne,
                                  uint32_t ggml_type, size_t nbytes) const {
  const std::string ctx = "GGUF writer: tensor '" + name + "'";
  for (const PendingTensor& t : tensors_) {
    if (t.name == name) return InvalidArgument(ctx + " was already added");
  }
  uint64_t expected = 0;
  Status st = GgmlTensorBytes(ne, ggml_type, &expected);
  if (!st.ok()) {
    if (st.code() == StatusCode::kUnsupported) return std::move(st).WithContext(ctx);
    return InvalidArgument(ctx + ": " + st.message());
  }
  if (expected != nbytes) {
    return InvalidArgument(ctx + ": shape " + GgmlShapeString(ne) + " of type " +
                           GgmlTypeName(ggml_type) + " needs " + std::to_string(expected) +
                           " bytes, got " + std::to_string(nbytes));
  }
  return Status::Ok();
}

Status GgufWriter::AddTensor(std::string name, std::vector<uint64_t> ne, uint32_t ggml_type,
                             const void* data, size_t nbytes, std::function<void()> on_write) {
  FLOE_RETURN_IF_ERROR(CheckNewTensor(name, ne, ggml_type, nbytes));
  if (data == nullptr) return InvalidArgument("GGUF writer: tensor '" + name + "': null data");
  tensors_.push_back(
      {std::move(name), std::move(ne), ggml_type, data, nbytes, nullptr, std::move(on_write)});
  return Status::Ok();
}

Status GgufWriter::AddTensorFill(std::string name, std::vector<uint64_t> ne, uint32_t ggml_type,
                                 size_t nbytes, TensorFill fill) {
  FLOE_RETURN_IF_ERROR(CheckNewTensor(name, ne, ggml_type, nbytes));
  if (!fill) return InvalidArgument("GGUF writer: tensor '" + name + "': no fill function");
  tensors_.push_back(
      {std::move(name), std::move(ne), ggml_type, nullptr, nbytes, std::move(fill), {}});
  return Status::Ok();
}

Result<uint32_t> GgufWriter::Alignment() const {
  for (const auto& [key, v] : kv_) {
    if (key != "general.alignment") continue;
    if (v.type != GgufType::kUint32 || v.u == 0 || (v.u & (v.u - 1)) != 0 ||
        v.u > (uint64_t(1) << 30)) {
      return InvalidArgument("GGUF writer: general.alignment must be a uint32 power of two");
    }
    return static_cast<uint32_t>(v.u);
  }
  return uint32_t{32};
}

Status GgufWriter::BuildHeader(uint32_t alignment, std::string* out) const {
  out->clear();
  out->append("GGUF", 4);
  Put<uint32_t>(out, kGgufVersion);
  Put<uint64_t>(out, tensors_.size());
  Put<uint64_t>(out, kv_.size());
  for (const auto& [key, v] : kv_) {
    Status st = CheckValue(v, 0);
    if (!st.ok())
      return InvalidArgument("GGUF writer: metadata key '" + key + "': " + st.message());
    PutString(out, key);
    Put<uint32_t>(out, static_cast<uint32_t>(v.type));
    PutValue(out, v);
  }
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    PutString(out, t.name);
    Put<uint32_t>(out, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) Put<uint64_t>(out, d);
    Put<uint32_t>(out, t.type);
    Put<uint64_t>(out, offset);
    offset = AlignUp(offset + t.nbytes, alignment);
  }
  return Status::Ok();
}

namespace {

// Header, padding, then every tensor's bytes padded to the alignment.
template <class Tensors>
Status EmitBody(const std::string& header, uint32_t alignment, const Tensors& tensors,
                const Sink& sink) {
  static const char kZeros[256] = {};
  auto pad = [&](uint64_t written) -> Status {
    uint64_t n = AlignUp(written, alignment) - written;
    while (n > 0) {
      const size_t k = static_cast<size_t>(std::min<uint64_t>(n, sizeof(kZeros)));
      FLOE_RETURN_IF_ERROR(sink(kZeros, k));
      n -= k;
    }
    return Status::Ok();
  };
  FLOE_RETURN_IF_ERROR(sink(header.data(), header.size()));
  FLOE_RETURN_IF_ERROR(pad(header.size()));
  std::vector<uint8_t> filled;  // one tensor at a time for AddTensorFill's tensors
  for (const auto& t : tensors) {
    if (t.fill) {
      filled.resize(t.nbytes);
      FLOE_RETURN_IF_ERROR(t.fill(filled.data()));
      FLOE_RETURN_IF_ERROR(sink(filled.data(), t.nbytes));
    } else {
      if (t.on_write) t.on_write();
      FLOE_RETURN_IF_ERROR(sink(t.data, t.nbytes));
    }
    FLOE_RETURN_IF_ERROR(pad(t.nbytes));
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> GgufWriter::Serialize() const {
  try {
    FLOE_ASSIGN_OR_RETURN(const uint32_t alignment, Alignment());
    std::string header;
    FLOE_RETURN_IF_ERROR(BuildHeader(alignment, &header));
    std::string out;
    FLOE_RETURN_IF_ERROR(EmitBody(header, alignment, tensors_, [&](const void* p, size_t n) {
      out.append(static_cast<const char*>(p), n);
      return Status::Ok();
    }));
    return out;
  } catch (const std::bad_alloc&) {
    return OutOfMemory("GGUF writer: out of memory");
  }
}

Status GgufWriter::WriteFile(const std::string& path) const {
  try {
    FLOE_ASSIGN_OR_RETURN(const uint32_t alignment, Alignment());
    std::string header;
    FLOE_RETURN_IF_ERROR(BuildHeader(alignment, &header));
    // A unique temporary file, flushed, then renamed over the target; a target that is not a
    // regular file is refused (platform/base/output_file.h).
    FLOE_ASSIGN_OR_RETURN(OutputFile out, OutputFile::Create(path));
    FLOE_RETURN_IF_ERROR(EmitBody(header, alignment, tensors_,
                                  [&](const void* p, size_t n) { return out.Write(p, n); }));
    return out.Commit();
  } catch (const std::bad_alloc&) {
    return OutOfMemory("GGUF writer: out of memory");
  }
}

}  // namespace floe
