#include "runtime/formats/checkpoint/zip_reader.h"

#include <cstring>

#include "platform/base/byte_reader.h"

namespace floe {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kEocd64Sig = 0x06064b50;
constexpr uint32_t kLocator64Sig = 0x07064b50;
constexpr size_t kEocdBytes = 22;
constexpr size_t kLocator64Bytes = 20;
constexpr size_t kEocd64Bytes = 56;
constexpr size_t kCentralBytes = 46;
constexpr size_t kLocalBytes = 30;
constexpr uint16_t kZip64ExtraId = 0x0001;

uint32_t Le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

Status Corrupt(const std::string& what) { return CorruptData("zip: " + what); }

// Where the directory is, from the (ZIP64) end records.
struct Directory {
  uint64_t entries = 0;
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t end = 0;  // first byte of the end records: the directory must lie before it
};

// Finds the end-of-central-directory record: the last "PK\5\6" whose comment length makes it
// end exactly at the end of the buffer.
Result<size_t> FindEocd(const uint8_t* data, size_t size) {
  if (size < kEocdBytes) return Corrupt("file too small for an end-of-central-directory record");
  const size_t lowest = size - kEocdBytes > 0xFFFF ? size - kEocdBytes - 0xFFFF : 0;
  for (size_t pos = size - kEocdBytes + 1; pos-- > lowest;) {
    if (Le32(data + pos) != kEocdSig) continue;
    uint16_t comment;
    std::memcpy(&comment, data + pos + 20, 2);
    if (pos + kEocdBytes + comment == size) return pos;
  }
  return Corrupt("no end-of-central-directory record (not a zip archive, or truncated)");
}

Result<Directory> ReadEndRecords(const uint8_t* data, size_t size) {
  FLOE_ASSIGN_OR_RETURN(const size_t eocd, FindEocd(data, size));
  ByteReader r(data, size);
  FLOE_RETURN_IF_ERROR(r.Seek(eocd + 4, "end of central directory"));
  uint16_t disk = 0, cd_disk = 0, n_here = 0, n_total = 0;
  uint32_t cd_size = 0, cd_offset = 0;
  FLOE_RETURN_IF_ERROR(r.Read(&disk, "eocd disk"));
  FLOE_RETURN_IF_ERROR(r.Read(&cd_disk, "eocd directory disk"));
  FLOE_RETURN_IF_ERROR(r.Read(&n_here, "eocd entries on disk"));
  FLOE_RETURN_IF_ERROR(r.Read(&n_total, "eocd entries"));
  FLOE_RETURN_IF_ERROR(r.Read(&cd_size, "eocd directory size"));
  FLOE_RETURN_IF_ERROR(r.Read(&cd_offset, "eocd directory offset"));
  Directory d{n_total, cd_offset, cd_size, eocd};

  const bool has_locator =
      eocd >= kLocator64Bytes && Le32(data + eocd - kLocator64Bytes) == kLocator64Sig;
  if (has_locator) {
    FLOE_RETURN_IF_ERROR(r.Seek(eocd - kLocator64Bytes + 4, "zip64 locator"));
    uint32_t eocd64_disk = 0, total_disks = 0;
    uint64_t eocd64 = 0;
    FLOE_RETURN_IF_ERROR(r.Read(&eocd64_disk, "zip64 locator disk"));
    FLOE_RETURN_IF_ERROR(r.Read(&eocd64, "zip64 end record offset"));
    FLOE_RETURN_IF_ERROR(r.Read(&total_disks, "zip64 locator disk count"));
    if (eocd64_disk != 0 || total_disks > 1)
      return Unsupported("zip: multi-disk archives are not supported");
    const uint64_t locator = eocd - kLocator64Bytes;
    if (eocd64 > locator || locator - eocd64 < kEocd64Bytes)
      return Corrupt("zip64 end record offset " + std::to_string(eocd64) + " is out of range");
    FLOE_RETURN_IF_ERROR(r.Seek(size_t(eocd64), "zip64 end record"));
    uint32_t sig = 0, disk64 = 0, cd_disk64 = 0;
    uint64_t record_size = 0, n_here64 = 0, n_total64 = 0;
    uint16_t made_by = 0, needed = 0;
    FLOE_RETURN_IF_ERROR(r.Read(&sig, "zip64 end record signature"));
    if (sig != kEocd64Sig) return Corrupt("bad zip64 end-of-central-directory signature");
    FLOE_RETURN_IF_ERROR(r.Read(&record_size, "zip64 end record size"));
    FLOE_RETURN_IF_ERROR(r.Read(&made_by, "zip64 version made by"));
    FLOE_RETURN_IF_ERROR(r.Read(&needed, "zip64 version needed"));
    FLOE_RETURN_IF_ERROR(r.Read(&disk64, "zip64 disk"));
    FLOE_RETURN_IF_ERROR(r.Read(&cd_disk64, "zip64 directory disk"));
    FLOE_RETURN_IF_ERROR(r.Read(&n_here64, "zip64 entries on disk"));
    FLOE_RETURN_IF_ERROR(r.Read(&n_total64, "zip64 entries"));
    FLOE_RETURN_IF_ERROR(r.Read(&d.size, "zip64 directory size"));
    FLOE_RETURN_IF_ERROR(r.Read(&d.offset, "zip64 directory offset"));
    if (disk64 != 0 || cd_disk64 != 0)
      return Unsupported("zip: multi-disk archives are not supported");
    if (n_here64 != n_total64) return Corrupt("zip64 end record entry counts disagree");
    d.entries = n_total64;
    d.end = eocd64;
  } else {
    if (disk != 0 || cd_disk != 0) return Unsupported("zip: multi-disk archives are not supported");
    if (n_here != n_total) return Corrupt("end record entry counts disagree");
    if (n_total == 0xFFFF || cd_size == 0xFFFFFFFFu || cd_offset == 0xFFFFFFFFu)
      return Corrupt("end record asks for zip64 values but there is no zip64 locator");
  }
  if (d.offset > d.end || d.size > d.end - d.offset)
    return Corrupt("central directory [" + std::to_string(d.offset) + ", +" +
                   std::to_string(d.size) + ") does not end before the end records at " +
                   std::to_string(d.end));
  if (d.entries > d.size / kCentralBytes)
    return Corrupt(std::to_string(d.entries) + " entries cannot fit a " + std::to_string(d.size) +
                   "-byte central directory");
  return d;
}

// Replaces 0xFFFF... fields of a central header by the ZIP64 extra field's 64-bit values.
Status ApplyZip64Extra(const uint8_t* extra, size_t extra_len, bool want_usize, bool want_csize,
                       bool want_offset, ZipEntry* e) {
  ByteReader r(extra, extra_len);
  while (r.remaining() >= 4) {
    uint16_t id = 0, len = 0;
    FLOE_RETURN_IF_ERROR(r.Read(&id, "extra field id"));
    FLOE_RETURN_IF_ERROR(r.Read(&len, "extra field length"));
    const uint8_t* body = nullptr;
    FLOE_RETURN_IF_ERROR(r.ReadBytes(len, &body, "extra field"));
    if (id != kZip64ExtraId) continue;
    ByteReader z(body, len);
    if (want_usize) FLOE_RETURN_IF_ERROR(z.Read(&e->uncompressed_size, "zip64 uncompressed size"));
    if (want_csize) FLOE_RETURN_IF_ERROR(z.Read(&e->compressed_size, "zip64 compressed size"));
    if (want_offset)
      FLOE_RETURN_IF_ERROR(z.Read(&e->local_header_offset, "zip64 local header offset"));
    return Status::Ok();
  }
  if (want_usize || want_csize || want_offset)
    return Corrupt("entry '" + std::string(e->name) + "' needs a zip64 extra field but has none");
  return Status::Ok();
}

// Reads the central header at r's position into *e (sizes and data offset validated).
Status ReadCentral(ByteReader& r, const Directory& dir, ZipEntry* e) {
  uint32_t sig = 0, crc = 0, csize = 0, usize = 0, ext_attr = 0, local = 0;
  uint16_t made_by = 0, needed = 0, time = 0, date = 0, name_len = 0, extra_len = 0,
           comment_len = 0, disk_start = 0, int_attr = 0;
  FLOE_RETURN_IF_ERROR(r.Read(&sig, "central header signature"));
  if (sig != kCentralSig)
    return Corrupt("bad central header signature at byte " + std::to_string(r.offset() - 4));
  FLOE_RETURN_IF_ERROR(r.Read(&made_by, "central header"));
  FLOE_RETURN_IF_ERROR(r.Read(&needed, "central header"));
  FLOE_RETURN_IF_ERROR(r.Read(&e->flags, "central header flags"));
  FLOE_RETURN_IF_ERROR(r.Read(&e->method, "central header method"));
  FLOE_RETURN_IF_ERROR(r.Read(&time, "central header"));
  FLOE_RETURN_IF_ERROR(r.Read(&date, "central header"));
  FLOE_RETURN_IF_ERROR(r.Read(&crc, "central header"));
  FLOE_RETURN_IF_ERROR(r.Read(&csize, "central header sizes"));
  FLOE_RETURN_IF_ERROR(r.Read(&usize, "central header sizes"));
  FLOE_RETURN_IF_ERROR(r.Read(&name_len, "central header"));
  FLOE_RETURN_IF_ERROR(r.Read(&extra_len, "central header"));
  FLOE_RETURN_IF_ERROR(r.Read(&comment_len, "central header"));
  FLOE_RETURN_IF_ERROR(r.Read(&disk_start, "central header"));
  FLOE_RETURN_IF_ERROR(r.Read(&int_attr, "central header"));
  FLOE_RETURN_IF_ERROR(r.Read(&ext_attr, "central header"));
  FLOE_RETURN_IF_ERROR(r.Read(&local, "central header local offset"));
  const uint8_t *name = nullptr, *extra = nullptr, *comment = nullptr;
  FLOE_RETURN_IF_ERROR(r.ReadBytes(name_len, &name, "entry name"));
  FLOE_RETURN_IF_ERROR(r.ReadBytes(extra_len, &extra, "entry extra field"));
  FLOE_RETURN_IF_ERROR(r.ReadBytes(comment_len, &comment, "entry comment"));
  if (r.offset() > dir.offset + dir.size)
    return Corrupt("central header runs past the central directory");
  e->name = std::string_view(reinterpret_cast<const char*>(name), name_len);
  e->compressed_size = csize;
  e->uncompressed_size = usize;
  e->local_header_offset = local;
  FLOE_RETURN_IF_ERROR(ApplyZip64Extra(extra, extra_len, usize == 0xFFFFFFFFu, csize == 0xFFFFFFFFu,
                                       local == 0xFFFFFFFFu, e));
  const std::string who = "entry '" + std::string(e->name) + "'";
  if (disk_start != 0 && disk_start != 0xFFFF)
    return Unsupported("zip: " + who + " is on another disk");
  if (e->flags & 1) return Unsupported("zip: " + who + " is encrypted");
  if (e->method == 0 && e->compressed_size != e->uncompressed_size)
    return Corrupt(who + " is stored but its compressed and uncompressed sizes differ");
  return Status::Ok();
}

// Validates the local header of *e against the central one and sets e->data_offset.
Status ReadLocal(const uint8_t* data, size_t size, const Directory& dir, ZipEntry* e) {
  const std::string who = "entry '" + std::string(e->name) + "'";
  if (e->local_header_offset > dir.offset)
    return Corrupt(who + ": local header offset " + std::to_string(e->local_header_offset) +
                   " is past the central directory");
  ByteReader r(data, size);
  FLOE_RETURN_IF_ERROR(r.Seek(size_t(e->local_header_offset), "local header"));
  uint32_t sig = 0;
  uint16_t skip16[5] = {}, name_len = 0, extra_len = 0;
  uint32_t skip32[3] = {};
  FLOE_RETURN_IF_ERROR(r.Read(&sig, "local header signature"));
  if (sig != kLocalSig) return Corrupt(who + ": bad local header signature");
  FLOE_RETURN_IF_ERROR(r.Read(&skip16, "local header"));  // version, flags, method, time, date
  FLOE_RETURN_IF_ERROR(r.Read(&skip32, "local header"));  // crc, sizes (may be in a descriptor)
  FLOE_RETURN_IF_ERROR(r.Read(&name_len, "local header name length"));
  FLOE_RETURN_IF_ERROR(r.Read(&extra_len, "local header extra length"));
  std::string local_name;
  FLOE_RETURN_IF_ERROR(r.ReadString(name_len, &local_name, "local header name"));
  if (local_name != e->name) return Corrupt(who + ": local header names '" + local_name + "'");
  if (skip16[2] != e->method)
    return Corrupt(who + ": local and central compression methods differ");
  FLOE_RETURN_IF_ERROR(r.Skip(extra_len, "local header extra field"));
  e->data_offset = r.offset();
  if (e->data_offset > dir.offset || e->compressed_size > dir.offset - e->data_offset)
    return Corrupt(who + ": data [" + std::to_string(e->data_offset) + ", +" +
                   std::to_string(e->compressed_size) + ") overlaps the central directory at " +
                   std::to_string(dir.offset) + " or the end of the file");
  return Status::Ok();
}

}  // namespace

bool LooksLikeZip(const uint8_t* data, size_t size) { return size >= 4 && Le32(data) == kLocalSig; }

Result<ZipArchive> ZipArchive::Open(const uint8_t* data, size_t size) {
  FLOE_ASSIGN_OR_RETURN(const Directory dir, ReadEndRecords(data, size));
  ZipArchive zip;
  zip.data_ = data;
  zip.size_ = size;
  zip.entries_.reserve(size_t(dir.entries));  // bounded: entries * 46 <= directory size <= size
  ByteReader r(data, size);
  FLOE_RETURN_IF_ERROR(r.Seek(size_t(dir.offset), "central directory"));
  for (uint64_t i = 0; i < dir.entries; ++i) {
    ZipEntry e;
    FLOE_RETURN_IF_ERROR(ReadCentral(r, dir, &e));
    FLOE_RETURN_IF_ERROR(ReadLocal(data, size, dir, &e));
    if (!zip.index_.emplace(e.name, zip.entries_.size()).second)
      return Corrupt("duplicate entry '" + std::string(e.name) + "'");
    zip.entries_.push_back(e);
  }
  return zip;
}

const ZipEntry* ZipArchive::Find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

Result<ZipArchive::View> ZipArchive::Read(std::string_view name) const {
  const ZipEntry* e = Find(name);
  if (e == nullptr) return NotFound("zip: no entry '" + std::string(name) + "'");
  return Read(*e);
}

Result<ZipArchive::View> ZipArchive::Read(const ZipEntry& e) const {
  if (e.method != 0)
    return Unsupported("zip: entry '" + std::string(e.name) + "' is compressed (method " +
                       std::to_string(e.method) + "); only stored entries are supported");
  // Open() checked data_offset + compressed_size <= directory offset <= size_.
  return View{data_ + e.data_offset, size_t(e.compressed_size)};
}

}  // namespace floe
