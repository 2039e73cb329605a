// The in-memory ZIP reader: stored entries as views, ZIP64 records and extra fields, comments,
// and the structural errors it must catch.
#include <cstring>

#include "runtime/formats/checkpoint/zip_reader.h"
#include "checkpoint_test_util.h"
#include "test_data.h"

using namespace floe;
using namespace floe::testing;

namespace {

Bytes TwoEntries(bool zip64, bool zip64_extra, const std::string& comment = "") {
  ZipBuilder z;
  z.Add("a/x", {1, 2, 3});
  z.Add("a/empty", {});
  return z.Finish(zip64, zip64_extra, comment);
}

Status OpenStatus(const Bytes& b) { return ZipArchive::Open(b.data(), b.size()).status(); }

// Offset of the first central header ("PK\1\2").
size_t CentralStart(const Bytes& b) {
  for (size_t i = 0; i + 4 <= b.size(); ++i)
    if (b[i] == 'P' && b[i + 1] == 'K' && b[i + 2] == 1 && b[i + 3] == 2) return i;
  return 0;
}

}  // namespace

TEST_CASE("zip: stored entries are views, with and without ZIP64", "[unit]") {
  for (int variant = 0; variant < 4; ++variant) {
    const Bytes file =
        TwoEntries(variant & 1, variant & 2,
                   variant == 3 ? "PK\x05\x06 a comment holding a fake end record" : "");
    auto zip = ZipArchive::Open(file.data(), file.size());
    INFO("variant " << variant << ": " << zip.status().ToString());
    REQUIRE(zip.ok());
    REQUIRE(zip->entries().size() == 2);
    CHECK(zip->entries()[0].name == "a/x");
    auto x = zip->Read("a/x");
    REQUIRE(x.ok());
    REQUIRE(x->size == 3);
    CHECK(x->data >= file.data());
    CHECK(x->data < file.data() + file.size());
    CHECK(x->data[0] == 1);
    CHECK(x->data[2] == 3);
    auto empty = zip->Read("a/empty");
    REQUIRE(empty.ok());
    CHECK(empty->size == 0);
    CHECK(zip->Read("nope").status().code() == StatusCode::kNotFound);
  }
}

TEST_CASE("zip: compressed entries are unsupported by name", "[unit]") {
  ZipBuilder z;
  z.Add("deflated.bin", {1, 2, 3}, 8);
  const Bytes file = z.Finish();
  auto zip = ZipArchive::Open(file.data(), file.size());
  REQUIRE(zip.ok());  // the directory is fine; only reading the entry is not
  const Status st = zip->Read("deflated.bin").status();
  CHECK(st.code() == StatusCode::kUnsupported);
  CHECK(st.message().find("deflated.bin") != std::string::npos);
  CHECK(st.message().find("method 8") != std::string::npos);
}

TEST_CASE("zip: structural damage is kCorruptData or kUnsupported, never a crash", "[unit]") {
  const Bytes good = TwoEntries(true, false);
  REQUIRE(OpenStatus(good).ok());
  const size_t cd = CentralStart(good);
  REQUIRE(cd > 0);
  auto patched = [&](size_t offset, uint64_t value, int n) {
    Bytes b = good;
    for (int i = 0; i < n; ++i) b[offset + size_t(i)] = uint8_t(value >> (8 * i));
    return b;
  };
  CHECK(OpenStatus(patched(cd + 8, 1, 2)).code() == StatusCode::kUnsupported);  // encrypted
  CHECK(OpenStatus(patched(cd + 20, 4, 4)).code() ==
        StatusCode::kCorruptData);  // stored, sizes differ
  CHECK(OpenStatus(patched(cd + 42, 1, 4)).code() == StatusCode::kCorruptData);  // local offset off
  CHECK(OpenStatus(patched(cd + 42, 0xFFFFFFF0u, 4)).code() == StatusCode::kCorruptData);
  CHECK(OpenStatus(patched(cd + 42, 0xFFFFFFFFu, 4)).code() ==
        StatusCode::kCorruptData);                                                 // no zip64 extra
  CHECK(OpenStatus(patched(cd + 28, 200, 2)).code() == StatusCode::kCorruptData);  // name runs long
  CHECK(OpenStatus(patched(cd + 46, 'b', 1)).code() == StatusCode::kCorruptData);  // name != local
  CHECK(OpenStatus(patched(cd + 34, 1, 2)).code() == StatusCode::kUnsupported);    // other disk
  CHECK(OpenStatus(patched(cd + 20, 0x7FFFFFFF7FFFFFFFull, 8)).code() ==
        StatusCode::kCorruptData);                                         // past end
  CHECK(OpenStatus(patched(0, 0, 1)).code() == StatusCode::kCorruptData);  // local signature
  // End records: the ZIP64 record is at cd + directory size; the locator and EOCD follow it.
  const size_t eocd = good.size() - 22, locator = eocd - 20, eocd64 = locator - 56;
  Bytes counts = patched(eocd64 + 32, 1000, 8);  // entry count the directory cannot hold
  std::memcpy(&counts[eocd64 + 24], &counts[eocd64 + 32], 8);
  CHECK(OpenStatus(counts).code() == StatusCode::kCorruptData);
  CHECK(OpenStatus(patched(eocd64 + 32, 3, 8)).code() ==
        StatusCode::kCorruptData);  // counts differ
  CHECK(OpenStatus(patched(eocd64 + 40, 1 << 20, 8)).code() ==
        StatusCode::kCorruptData);  // dir size
  CHECK(OpenStatus(patched(eocd64 + 48, ~uint64_t(0), 8)).code() == StatusCode::kCorruptData);
  CHECK(OpenStatus(patched(locator + 8, ~uint64_t(0), 8)).code() == StatusCode::kCorruptData);
  CHECK(OpenStatus(patched(locator + 16, 2, 4)).code() == StatusCode::kUnsupported);  // disks
  CHECK(OpenStatus(patched(eocd64, 0, 4)).code() == StatusCode::kCorruptData);        // signature
  CHECK(OpenStatus(patched(eocd + 20, 1, 2)).code() == StatusCode::kCorruptData);  // comment length
  // Without ZIP64 records, 0xFFFF... in the EOCD is an inconsistency.
  const Bytes plain = TwoEntries(false, false);
  const size_t peocd = plain.size() - 22;
  Bytes p = plain;
  for (int i = 0; i < 4; ++i) p[peocd + 16 + size_t(i)] = 0xFF;
  CHECK(OpenStatus(p).code() == StatusCode::kCorruptData);
  p = plain;
  p[peocd + 10] = 200;  // entries
  CHECK(OpenStatus(p).code() == StatusCode::kCorruptData);
  // Every truncation, every single-byte flip of the directory and end records.
  for (size_t n = 0; n < good.size(); ++n) CHECK_FALSE(ZipArchive::Open(good.data(), n).ok());
  for (size_t pos = cd; pos < good.size(); ++pos) {
    Bytes b = good;
    b[pos] ^= 0xA5;
    auto zip = ZipArchive::Open(b.data(), b.size());
    if (!zip.ok()) continue;
    for (const ZipEntry& e : zip->entries()) {
      auto v = zip->Read(e);
      if (v.ok()) REQUIRE(v->size <= size_t(b.data() + b.size() - v->data));
    }
  }
}

TEST_CASE("zip: duplicate names are rejected", "[unit]") {
  ZipBuilder z;
  z.Add("same", {1});
  z.Add("same", {2});
  const Bytes file = z.Finish();
  const Status st = OpenStatus(file);
  CHECK(st.code() == StatusCode::kCorruptData);
  CHECK(st.message().find("duplicate") != std::string::npos);
}
