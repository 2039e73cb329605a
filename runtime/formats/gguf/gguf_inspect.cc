#include "runtime/formats/gguf/gguf_inspect.h"

#include <cstdio>
#include <algorithm>
#include <map>

namespace floe {

namespace {

constexpr size_t kMaxStringBytes = 80;  // longer strings are cut (at a UTF-8 boundary)

// Quoted, with control bytes escaped; UTF-8 bytes are kept as they are.
std::string QuoteString(const std::string& s) {
  size_t n = s.size();
  bool cut = false;
  if (n > kMaxStringBytes) {
    n = kMaxStringBytes;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // continuation
    cut = true;
  }
  std::string out = "\"";
  for (size_t k = 0; k < n; ++k) {
    const unsigned char c = static_cast<unsigned char>(s[k]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += "\"";
  if (cut) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string FormatDouble(double d, bool single) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), single ? "%.9g" : "%.17g", d);
  return buf;
}

std::string TypeString(const GgufValue& v) {
  if (v.type != GgufType::kArray) return GgufTypeName(v.type);
  std::string inner = GgufTypeName(v.elem_type);
  if (v.elem_type == GgufType::kArray) inner = "array";
  return "array[" + inner + "] x" + std::to_string(v.array.size());
}

std::string HumanBytes(uint64_t b) {
  char buf[64];
  if (b >= (uint64_t(1) << 30)) {
    std::snprintf(buf, sizeof(buf), "%.2f GiB", double(b) / double(uint64_t(1) << 30));
  } else if (b >= (uint64_t(1) << 20)) {
    std::snprintf(buf, sizeof(buf), "%.2f MiB", double(b) / double(uint64_t(1) << 20));
  } else if (b >= 1024) {
    std::snprintf(buf, sizeof(buf), "%.2f KiB", double(b) / 1024.0);
  } else {
    std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(b));
  }
  return buf;
}

}  // namespace

std::string FormatGgufValue(const GgufValue& v, size_t max_array_items) {
  switch (v.type) {
    case GgufType::kUint8:
    case GgufType::kUint16:
    case GgufType::kUint32:
    case GgufType::kUint64:
      return std::to_string(v.u);
    case GgufType::kInt8:
    case GgufType::kInt16:
    case GgufType::kInt32:
    case GgufType::kInt64:
      return std::to_string(v.i);
    case GgufType::kFloat32:
      return FormatDouble(v.f, true);
    case GgufType::kFloat64:
      return FormatDouble(v.f, false);
    case GgufType::kBool:
      return v.b ? "true" : "false";
    case GgufType::kString:
      return QuoteString(v.s);
    case GgufType::kArray:
      break;
  }
  if (v.type != GgufType::kArray) return "?";
  std::string out = "[";
  const size_t shown = std::min(v.array.size(), max_array_items);
  for (size_t k = 0; k < shown; ++k) {
    if (k) out += ", ";
    out += FormatGgufValue(v.array[k], max_array_items);
  }
  if (shown < v.array.size()) {
    out += (shown ? ", ... +" : "... +") + std::to_string(v.array.size() - shown) + " more";
  }
  return out + "]";
}

std::string FormatGgufSummary(const GgufFile& f, size_t max_array_items) {
  std::string out;
  out += "GGUF version " + std::to_string(f.version()) + ", alignment " +
         std::to_string(f.alignment()) + ", data section at byte " +
         std::to_string(f.data_offset()) + "\n";
  out += "metadata: " + std::to_string(f.metadata().size()) + " keys\n";
  for (const auto& [key, v] : f.metadata()) {
    out += "  " + key + "  " + TypeString(v) + "  " + FormatGgufValue(v, max_array_items) + "\n";
  }
  out += "tensors: " + std::to_string(f.tensors().size()) + "\n";
  uint64_t total_bytes = 0, total_elements = 0;
  std::map<std::string, size_t> per_type;
  for (const GgufTensorInfo& t : f.tensors()) {
    uint64_t elements = 1;
    for (uint64_t d : t.ne) elements *= d;  // fits: checked at parse time
    total_elements += elements;             // a sum of in-file sizes: cannot overflow in practice
    total_bytes += t.nbytes;
    ++per_type[GgmlTypeName(t.type)];
    out += "  " + t.name + "  " + GgmlTypeName(t.type) + "  " + GgmlShapeString(t.ne) +
           "  offset " + std::to_string(t.offset) + "  " + std::to_string(t.nbytes) + " bytes\n";
  }
  out += "total: " + std::to_string(f.tensors().size()) + " tensors, " +
         std::to_string(total_elements) + " elements, " + std::to_string(total_bytes) + " bytes (" +
         HumanBytes(total_bytes) + ")";
  if (!per_type.empty()) {
    out += "; by type:";
    for (const auto& [name, n] : per_type) out += " " + name + " x" + std::to_string(n);
  }
  out += "\n";
  return out;
}

}  // namespace floe
