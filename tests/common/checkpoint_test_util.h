// Helpers for the checkpoint reader tests: read a file, build stored ZIP archives, pickles and
// safetensors files in memory (written here from the format specifications, so hostile cases
// can be crafted byte by byte).
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace floe::testing {

using Bytes = std::vector<uint8_t>;

inline Bytes ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

inline void PutLe(Bytes* b, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b->push_back(uint8_t(v >> (8 * i)));
}
inline void PutStr(Bytes* b, const std::string& s) { b->insert(b->end(), s.begin(), s.end()); }

inline uint32_t Crc32(const Bytes& data) {
  uint32_t c = 0xFFFFFFFFu;
  for (uint8_t x : data) {
    c ^= x;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// Writes a ZIP archive of stored entries (optionally with ZIP64 end records, as torch does).
class ZipBuilder {
 public:
  // `method` is only recorded in the headers (the bytes are always stored as given).
  void Add(const std::string& name, const Bytes& data, uint16_t method = 0) {
    entries_.push_back({name, uint32_t(out_.size()), Crc32(data), uint32_t(data.size()), method});
    PutLe(&out_, 0x04034b50, 4);
    PutLe(&out_, 20, 2);      // version needed
    PutLe(&out_, 0, 2);       // flags
    PutLe(&out_, method, 2);  // method
    PutLe(&out_, 0, 4);       // time, date
    PutLe(&out_, entries_.back().crc, 4);
    PutLe(&out_, data.size(), 4);
    PutLe(&out_, data.size(), 4);
    PutLe(&out_, name.size(), 2);
    PutLe(&out_, 0, 2);  // extra length
    PutStr(&out_, name);
    out_.insert(out_.end(), data.begin(), data.end());
  }

  // zip64: ZIP64 end records (as torch writes). zip64_extra: central headers carry 0xFFFFFFFF
  // sizes/offsets and the real values in a ZIP64 extra field (as for entries >= 4 GiB).
  Bytes Finish(bool zip64 = true, bool zip64_extra = false, const std::string& comment = "") {
    Bytes b = out_;
    const uint64_t cd_offset = b.size();
    for (const Entry& e : entries_) {
      const uint64_t big = 0xFFFFFFFFu;
      PutLe(&b, 0x02014b50, 4);
      PutLe(&b, 45, 2);  // made by
      PutLe(&b, 20, 2);  // needed
      PutLe(&b, 0, 2);
      PutLe(&b, e.method, 2);
      PutLe(&b, 0, 4);
      PutLe(&b, e.crc, 4);
      PutLe(&b, zip64_extra ? big : e.size, 4);
      PutLe(&b, zip64_extra ? big : e.size, 4);
      PutLe(&b, e.name.size(), 2);
      PutLe(&b, zip64_extra ? 28 : 0, 2);  // extra
      PutLe(&b, 0, 2);                     // comment
      PutLe(&b, 0, 2);                     // disk
      PutLe(&b, 0, 2);                     // internal attributes
      PutLe(&b, 0, 4);                     // external attributes
      PutLe(&b, zip64_extra ? big : e.offset, 4);
      PutStr(&b, e.name);
      if (zip64_extra) {
        PutLe(&b, 0x0001, 2);
        PutLe(&b, 24, 2);
        PutLe(&b, e.size, 8);  // uncompressed, compressed, local header offset
        PutLe(&b, e.size, 8);
        PutLe(&b, e.offset, 8);
      }
    }
    const uint64_t cd_size = b.size() - cd_offset;
    if (zip64) {
      const uint64_t eocd64 = b.size();
      PutLe(&b, 0x06064b50, 4);
      PutLe(&b, 44, 8);
      PutLe(&b, 45, 2);
      PutLe(&b, 45, 2);
      PutLe(&b, 0, 4);
      PutLe(&b, 0, 4);
      PutLe(&b, entries_.size(), 8);
      PutLe(&b, entries_.size(), 8);
      PutLe(&b, cd_size, 8);
      PutLe(&b, cd_offset, 8);
      PutLe(&b, 0x07064b50, 4);
      PutLe(&b, 0, 4);
      PutLe(&b, eocd64, 8);
      PutLe(&b, 1, 4);
    }
    PutLe(&b, 0x06054b50, 4);
    PutLe(&b, 0, 4);  // disks
    PutLe(&b, entries_.size(), 2);
    PutLe(&b, entries_.size(), 2);
    PutLe(&b, cd_size, 4);
    PutLe(&b, cd_offset, 4);
    PutLe(&b, comment.size(), 2);
    PutStr(&b, comment);
    return b;
  }

 private:
  struct Entry {
    std::string name;
    uint32_t offset, crc, size;
    uint16_t method;
  };
  Bytes out_;
  std::vector<Entry> entries_;
};

// Emits pickle opcodes (protocol 2 encodings, as torch.save writes them).
class PickleWriter {
 public:
  PickleWriter& Op(uint8_t op) {
    b_.push_back(op);
    return *this;
  }
  PickleWriter& Proto(uint8_t v = 2) { return Op(0x80).Op(v); }
  PickleWriter& Global(const std::string& module, const std::string& name) {
    Op('c');
    PutStr(&b_, module + "\n" + name + "\n");
    return *this;
  }
  PickleWriter& Raw(const std::string& s) {
    PutStr(&b_, s);
    return *this;
  }
  PickleWriter& ShortStr(const std::string& s) { return Op(0x8c).Op(uint8_t(s.size())).Raw(s); }
  PickleWriter& Str(const std::string& s) {
    Op('X');
    PutLe(&b_, s.size(), 4);
    PutStr(&b_, s);
    return *this;
  }
  PickleWriter& Int(int64_t v) {
    if (v >= 0 && v < 256) return Op('K').Op(uint8_t(v));
    if (v >= 0 && v < 65536) {
      Op('M');
      PutLe(&b_, uint64_t(v), 2);
      return *this;
    }
    if (v >= INT32_MIN && v <= INT32_MAX) {
      Op('J');
      PutLe(&b_, uint64_t(v), 4);
      return *this;
    }
    Op(0x8a).Op(8);
    PutLe(&b_, uint64_t(v), 8);
    return *this;
  }
  PickleWriter& Mark() { return Op('('); }
  PickleWriter& Tuple() { return Op('t'); }
  PickleWriter& IntTuple(const std::vector<int64_t>& xs) {
    Mark();
    for (int64_t x : xs) Int(x);
    return Tuple();
  }
  // _rebuild_tensor_v2(('storage', torch.<storage>, key, 'cpu', numel), offset, size, stride,
  // False, OrderedDict()) -- the stream torch.save writes for one tensor.
  PickleWriter& Tensor(const std::string& storage, const std::string& key, int64_t numel,
                       int64_t offset, const std::vector<int64_t>& size,
                       const std::vector<int64_t>& stride) {
    Global("torch._utils", "_rebuild_tensor_v2").Mark();
    Mark().Str("storage").Global("torch", storage).Str(key).Str("cpu").Int(numel).Tuple().Op('Q');
    Int(offset).IntTuple(size).IntTuple(stride).Op(0x89);
    Global("collections", "OrderedDict").Op(')').Op('R');
    return Tuple().Op('R');
  }
  const Bytes& bytes() const { return b_; }

 private:
  Bytes b_;
};

// A torch.save-like archive: "archive/data.pkl" plus the given storages "archive/data/<key>".
inline Bytes TorchZip(const Bytes& pickle,
                      const std::vector<std::pair<std::string, Bytes>>& storages) {
  ZipBuilder z;
  z.Add("archive/data.pkl", pickle);
  for (const auto& [key, data] : storages) z.Add("archive/data/" + key, data);
  z.Add("archive/version", {'3', '\n'});
  return z.Finish();
}

inline Bytes FloatBytes(const std::vector<float>& xs) {
  Bytes b(xs.size() * 4);
  std::memcpy(b.data(), xs.data(), b.size());
  return b;
}

// u64 header length + header text + data.
inline Bytes SafetensorsFile(const std::string& header, const Bytes& data) {
  Bytes b;
  PutLe(&b, header.size(), 8);
  PutStr(&b, header);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

}  // namespace floe::testing
