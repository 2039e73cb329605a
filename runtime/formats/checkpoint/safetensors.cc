#include "runtime/formats/checkpoint/safetensors.h"

#include <algorithm>
#include <string>
#include <string_view>

#include "platform/base/byte_reader.h"
#include "runtime/formats/checkpoint/json.h"

namespace floe {

namespace {

Status Corrupt(const std::string& what) { return CorruptData("safetensors: " + what); }

Result<uint64_t> NonNegative(const JsonValue& v, const std::string& what) {
  if (!v.is_int() || v.int_value() < 0) return Corrupt(what + " is not a non-negative integer");
  return uint64_t(v.int_value());
}

// One header entry -> *out (data points at the tensor's first byte); begin/end returned for the
// overlap check.
Status ReadEntry(const std::string& name, const JsonValue& info, const uint8_t* section,
                 uint64_t section_size, NamedTensor* out, uint64_t* begin, uint64_t* end) {
  const std::string who = "tensor '" + name + "'";
  if (!info.is_object()) return Corrupt(who + " is not an object");
  const JsonValue* dtype = info.Find("dtype");
  const JsonValue* shape = info.Find("shape");
  const JsonValue* offsets = info.Find("data_offsets");
  if (dtype == nullptr || !dtype->is_string())
    return Corrupt(who + ": missing or non-string dtype");
  if (shape == nullptr || !shape->is_array()) return Corrupt(who + ": missing or non-array shape");
  if (offsets == nullptr || !offsets->is_array() || offsets->items().size() != 2)
    return Corrupt(who + ": data_offsets is not a [begin, end] pair");
  const std::string& dt = dtype->string_value();
  if (dt == "F32")
    out->dtype = DType::kF32;
  else if (dt == "F16")
    out->dtype = DType::kF16;
  else if (dt == "BF16")
    out->dtype = DType::kBF16;
  else
    return Unsupported("safetensors: " + who + " has dtype " + dt +
                       " (only F32, F16 and BF16 are supported)");

  uint64_t numel = 1;
  for (const JsonValue& d : shape->items()) {
    FLOE_ASSIGN_OR_RETURN(const uint64_t n, NonNegative(d, who + ": a shape entry"));
    out->shape.push_back(n);
    if (__builtin_mul_overflow(numel, n, &numel)) return Corrupt(who + ": shape overflows");
  }
  FLOE_ASSIGN_OR_RETURN(*begin, NonNegative(offsets->items()[0], who + ": data_offsets begin"));
  FLOE_ASSIGN_OR_RETURN(*end, NonNegative(offsets->items()[1], who + ": data_offsets end"));
  if (*begin > *end || *end > section_size)
    return Corrupt(who + ": data_offsets [" + std::to_string(*begin) + ", " + std::to_string(*end) +
                   ") do not lie within the " + std::to_string(section_size) +
                   "-byte data section");
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(numel, DTypeSize(out->dtype), &bytes) || bytes != *end - *begin)
    return Corrupt(who + ": " + std::to_string(*end - *begin) +
                   " bytes do not match shape and dtype " + dt);
  out->name = name;
  out->data = section + *begin;
  out->bytes = size_t(bytes);
  return Status::Ok();
}

}  // namespace

Result<TensorSet> ReadSafetensors(const uint8_t* data, size_t size) {
  ByteReader r(data, size);
  uint64_t header_len = 0;
  FLOE_RETURN_IF_ERROR(r.Read(&header_len, "safetensors header length"));
  if (header_len > r.remaining() || header_len > kMaxSafetensorsHeader)
    return Corrupt("header length " + std::to_string(header_len) + " exceeds the file (" +
                   std::to_string(r.remaining()) + " bytes follow) or the " +
                   std::to_string(kMaxSafetensorsHeader) + "-byte limit");
  const uint8_t* header = nullptr;
  FLOE_RETURN_IF_ERROR(r.ReadBytes(size_t(header_len), &header, "safetensors header"));
  // About 10 values per tensor: 2^20 values is 100k tensors per file and bounds the parse at
  // ~100 MB (docs/allocation-audit.md item 9).
  JsonLimits limits;
  limits.max_values = kMaxSafetensorsHeaderValues;
  auto json = ParseJson(std::string_view(reinterpret_cast<const char*>(header), size_t(header_len)),
                        limits);
  if (!json.ok()) return Corrupt("header: " + json.status().message());
  if (!json->is_object()) return Corrupt("header is not a JSON object");
  const uint8_t* section = data + r.offset();
  const uint64_t section_size = r.remaining();

  TensorSet set;
  struct Range {
    uint64_t begin, end;
    size_t tensor;
    bool operator<(const Range& o) const {
      return begin < o.begin || (begin == o.begin && end < o.end);
    }
  };
  std::vector<Range> ranges;  // the non-empty [begin, end) byte ranges
  for (const JsonValue::Member& m : json->members()) {
    if (m.first == "__metadata__") {
      if (!m.second.is_object()) return Corrupt("__metadata__ is not an object");
      continue;
    }
    NamedTensor t;
    uint64_t begin = 0, end = 0;
    FLOE_RETURN_IF_ERROR(ReadEntry(m.first, m.second, section, section_size, &t, &begin, &end));
    if (end > begin) ranges.push_back({begin, end, set.tensors.size()});
    set.tensors.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      return Corrupt("data of tensors '" + set.tensors[ranges[i - 1].tensor].name + "' and '" +
                     set.tensors[ranges[i].tensor].name + "' overlap");
  return set;
}

}  // namespace floe
