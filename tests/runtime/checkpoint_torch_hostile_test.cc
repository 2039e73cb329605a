// torch.save zip checkpoints, crafted and corrupted: valid variants read correctly, every
// hostile one is a clear Status (never a crash; run under ASan/UBSan in CI).
#include <cstring>
#include <random>

#include "runtime/formats/checkpoint/torch_checkpoint.h"
#include "runtime/formats/checkpoint/zip_reader.h"
#include "checkpoint_test_util.h"
#include "sanitizer_scale.h"
#include "test_data.h"

using namespace floe;
using namespace floe::testing;

namespace {

// {"w": tensor} with the given storage/offset/size/stride over a 6-float storage "0".
Bytes OneTensor(const std::string& storage_type, int64_t numel, int64_t offset,
                const std::vector<int64_t>& size, const std::vector<int64_t>& stride,
                size_t storage_floats = 6) {
  PickleWriter p;
  p.Proto().Global("collections", "OrderedDict").Op(')').Op('R').Mark().Str("w");
  p.Tensor(storage_type, "0", numel, offset, size, stride).Op('u').Op('.');
  std::vector<float> data(storage_floats);
  for (size_t i = 0; i < data.size(); ++i) data[i] = float(i) + 0.5f;
  return TorchZip(p.bytes(), {{"0", FloatBytes(data)}});
}

Status ReadStatus(const Bytes& b) { return ReadTorchCheckpoint(b.data(), b.size()).status(); }

bool Mentions(const Status& st, const std::string& what) {
  return st.message().find(what) != std::string::npos;
}

// Reads corrupted bytes: whatever comes back, tensors must lie inside the buffer. True if ok.
bool ReadInBounds(const Bytes& b) {
  auto set = ReadTorchCheckpoint(b.data(), b.size());
  if (!set.ok()) return false;
  for (const NamedTensor& t : set->tensors) {
    REQUIRE(t.data >= b.data());
    REQUIRE(t.bytes <= size_t(b.data() + b.size() - t.data));
  }
  return true;
}

}  // namespace

TEST_CASE("torch: a crafted checkpoint reads, with offsets, shared storage and dtypes", "[unit]") {
  PickleWriter p;
  p.Proto().Op('}').Mark();
  p.Str("a").Tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1});
  p.Str("b").Tensor("FloatStorage", "0", 6, 4, {2}, {1});  // shares storage 0, from element 4
  p.Str("p").Global("torch._utils", "_rebuild_parameter").Mark();
  p.Tensor("HalfStorage", "1", 2, 0, {1, 2}, {7, 1})
      .Op(0x88)
      .Global("collections", "OrderedDict")
      .Op(')')
      .Op('R');
  p.Tuple().Op('R');
  p.Str("s").Tensor("BFloat16Storage", "2", 1, 0, {}, {});
  p.Op('u').Op('.');
  const Bytes storage0 = FloatBytes({0, 1, 2, 3, 4, 5});
  for (bool zip64 : {true, false}) {
    ZipBuilder z;
    z.Add("model/data.pkl", p.bytes());
    z.Add("model/data/0", storage0);
    z.Add("model/data/1", {1, 2, 3, 4});
    z.Add("model/data/2", {9, 9});
    const Bytes file = z.Finish(zip64);
    auto set = ReadTorchCheckpoint(file.data(), file.size());
    INFO(set.status().ToString());
    REQUIRE(set.ok());
    REQUIRE(set->tensors.size() == 4);
    CHECK(set->tensors[0].name == "a");
    CHECK(set->tensors[0].shape == std::vector<uint64_t>{2, 3});
    CHECK(std::memcmp(set->tensors[0].data, storage0.data(), 24) == 0);
    CHECK(set->tensors[1].bytes == 8);
    float b0 = 0;
    std::memcpy(&b0, set->tensors[1].data, 4);
    CHECK(b0 == 4.0f);
    CHECK(set->tensors[2].dtype == DType::kF16);  // size-1 dims may have any stride
    CHECK(set->tensors[2].shape == std::vector<uint64_t>{1, 2});
    CHECK(set->tensors[3].dtype == DType::kBF16);
    CHECK(set->tensors[3].shape.empty());
    CHECK(set->tensors[3].bytes == 2);
  }
}

TEST_CASE("torch: {'state_dict': {...}} is unwrapped", "[unit]") {
  PickleWriter p;
  p.Proto().Op('}').Mark().Str("epoch").Int(3).Str("state_dict").Op('}').Mark().Str("w");
  p.Tensor("FloatStorage", "0", 2, 0, {2}, {1}).Op('u').Op('u').Op('.');
  const Bytes file = TorchZip(p.bytes(), {{"0", FloatBytes({1, 2})}});
  auto set = ReadTorchCheckpoint(file.data(), file.size());
  INFO(set.status().ToString());
  REQUIRE(set.ok());
  REQUIRE(set->tensors.size() == 1);
  CHECK(set->tensors[0].name == "w");
}

TEST_CASE("torch: unsupported tensors are named", "[unit]") {
  Status st = ReadStatus(OneTensor("FloatStorage", 6, 0, {3, 2}, {1, 3}));  // transposed view
  CHECK(st.code() == StatusCode::kUnsupported);
  CHECK(Mentions(st, "'w'"));
  CHECK(Mentions(st, "contiguous"));
  st = ReadStatus(OneTensor("LongStorage", 3, 0, {3}, {1}));
  CHECK(st.code() == StatusCode::kUnsupported);
  CHECK(Mentions(st, "'w'"));
  CHECK(Mentions(st, "torch.LongStorage"));
  // A compressed storage entry names the entry.
  PickleWriter p;
  p.Proto().Op('}').Str("w").Tensor("FloatStorage", "0", 1, 0, {1}, {1}).Op('s').Op('.');
  ZipBuilder z;
  z.Add("archive/data.pkl", p.bytes());
  z.Add("archive/data/0", FloatBytes({1}), 8);
  const Bytes file = z.Finish();
  st = ReadStatus(file);
  CHECK(st.code() == StatusCode::kUnsupported);
  CHECK(Mentions(st, "archive/data/0"));
  // Legacy format: a pickled magic number, not a zip.
  const Bytes legacy = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                        0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
  st = ReadStatus(legacy);
  CHECK(st.code() == StatusCode::kUnsupported);
  CHECK(Mentions(st, "legacy"));
  CHECK(ReadStatus({'h', 'e', 'l', 'l', 'o'}).code() == StatusCode::kCorruptData);
  CHECK(ReadStatus({}).code() == StatusCode::kCorruptData);
}

TEST_CASE("torch: storages out of range are kCorruptData", "[unit]") {
  CHECK(ReadStatus(OneTensor("FloatStorage", 6, 0, {2, 3}, {3, 1})).ok());
  // offset + numel past the declared storage
  CHECK(ReadStatus(OneTensor("FloatStorage", 6, 1, {2, 3}, {3, 1})).code() ==
        StatusCode::kCorruptData);
  CHECK(ReadStatus(OneTensor("FloatStorage", 6, INT64_MAX, {2}, {1})).code() ==
        StatusCode::kCorruptData);
  // declared storage larger than its zip entry
  CHECK(ReadStatus(OneTensor("FloatStorage", 7, 0, {7}, {1})).code() == StatusCode::kCorruptData);
  CHECK(ReadStatus(OneTensor("FloatStorage", INT64_MAX, 0, {7}, {1})).code() ==
        StatusCode::kCorruptData);
  // shape product overflows
  CHECK(ReadStatus(
            OneTensor("FloatStorage", 6, 0, {1 << 30, 1 << 30, 1 << 30}, {1 << 30, 1 << 30, 1}))
            .code() != StatusCode::kOk);
  CHECK(ReadStatus(OneTensor("FloatStorage", 6, 0, {-1}, {1})).code() == StatusCode::kCorruptData);
  // missing storage entry
  PickleWriter p;
  p.Proto().Op('}').Str("w").Tensor("FloatStorage", "9", 1, 0, {1}, {1}).Op('s').Op('.');
  const Status st = ReadStatus(TorchZip(p.bytes(), {}));
  CHECK(st.code() == StatusCode::kCorruptData);
  CHECK(Mentions(st, "archive/data/9"));
}

TEST_CASE("torch: hostile pickles are rejected with the reason", "[unit]") {
  auto run = [](const PickleWriter& p) { return ReadStatus(TorchZip(p.bytes(), {})); };
  PickleWriter unknown;
  unknown.Proto().Op('}').Op('I');  // INT (protocol 0) is outside the subset
  Status st = run(unknown);
  CHECK(st.code() == StatusCode::kUnsupported);
  CHECK(Mentions(st, "0x49"));
  CHECK(Mentions(st, "byte 3"));
  PickleWriter os;
  os.Proto().Global("os", "system").Str("true").Op(0x85).Op('R').Op('.');
  st = run(os);
  CHECK(st.code() == StatusCode::kUnsupported);
  CHECK(Mentions(st, "os.system"));
  PickleWriter stack_global;
  stack_global.Proto(4).ShortStr("builtins").ShortStr("eval").Op(0x93).Op('.');
  st = run(stack_global);
  CHECK(st.code() == StatusCode::kUnsupported);
  CHECK(Mentions(st, "builtins.eval"));
  PickleWriter not_tensor;
  not_tensor.Proto().Op('}').Str("w").Op(']').Op('q').Op(0).Op('h').Op(0).Op('a').Op('s').Op(
      '.');  // l = [l]
  st = run(not_tensor);
  CHECK(st.code() == StatusCode::kUnsupported);
  CHECK(Mentions(st, "'w'"));
  PickleWriter dup;
  dup.Proto().Op('}').Mark();
  for (int i = 0; i < 2; ++i) dup.Str("w").Tensor("FloatStorage", "0", 1, 0, {1}, {1});
  dup.Op('u').Op('.');
  st = ReadStatus(TorchZip(dup.bytes(), {{"0", FloatBytes({1})}}));
  CHECK(st.code() == StatusCode::kCorruptData);
  CHECK(Mentions(st, "duplicate tensor name 'w'"));
  PickleWriter list_root;
  list_root.Proto().Op(']').Op('.');
  CHECK(run(list_root).code() == StatusCode::kUnsupported);
}

// 11 cuts, not every length (the name said "anywhere"): each case copies the prefix, and every
// one of the file's 1.1 million lengths would copy ~6e11 bytes. The cuts fall in the first
// local header, the first entries, the middle, and near the end (size - 22 and size - 23 are
// the edges of the 22-byte end-of-directory record).
TEST_CASE("torch: rwkv6 model.pth cut at 11 places, start to end record, is an error", "[unit]") {
  const Bytes file = ReadFileBytes(DataPath("reference/rwkv6/model.pth"));
  REQUIRE(ReadTorchCheckpoint(file.data(), file.size()).ok());
  for (size_t cut : {size_t(1), size_t(4), size_t(30), size_t(100), size_t(9000), file.size() / 2,
                     file.size() - 200, file.size() - 100, file.size() - 23, file.size() - 22,
                     file.size() - 1}) {
    INFO("cut at " << cut);
    const Bytes part(file.begin(), file.begin() + ptrdiff_t(cut));
    const Status st = ReadStatus(part);
    CHECK(st.code() == StatusCode::kCorruptData);
  }
}

TEST_CASE("torch: flipped bytes in the directory and pickle never crash", "[unit]") {
  Bytes file = ReadFileBytes(DataPath("reference/rwkv6/model.pth"));
  auto zip = ZipArchive::Open(file.data(), file.size());
  REQUIRE(zip.ok());
  // The central directory starts after the last entry's data.
  size_t cd_start = 0;
  for (const ZipEntry& e : zip->entries())
    cd_start = std::max<size_t>(cd_start, e.data_offset + e.compressed_size);
  const ZipEntry* pkl = zip->Find("model/data.pkl");
  REQUIRE(pkl != nullptr);
  size_t failures = 0, flips = 0;
  const size_t pkl_begin = pkl->data_offset, pkl_end = pkl_begin + pkl->compressed_size;
  // Every byte in a release build; under the sanitizers every third (3 is coprime with the
  // 2-, 4- and 8-byte fields, so each byte of a field is flipped somewhere).
  const size_t step = floe::testing::ReleaseOrSanitized(1, 3);
  for (size_t pos = cd_start; pos < file.size(); pos += step) {  // flip in place, then restore
    file[pos] ^= 0x5A;
    failures += !ReadInBounds(file);
    ++flips;
    file[pos] ^= 0x5A;
  }
  CHECK(failures > flips / 4);  // many flips are detected (no CRC check)
  for (size_t pos = pkl_begin; pos < pkl_end; pos += step) {
    file[pos] ^= 0xFF;
    ReadInBounds(file);
    file[pos] ^= 0xFF;
  }
  std::mt19937 rng(7);
  for (size_t i = 0; i < floe::testing::ReleaseOrSanitized(300, 100); ++i) {
    Bytes b = file;
    for (int k = 0; k < 8; ++k) b[rng() % b.size()] = uint8_t(rng());
    ReadInBounds(b);
  }
}

TEST_CASE("torch: a pickle's values are bounded by its size", "[unit]") {
  // docs/allocation-audit.md item 6: one value per byte ('N' pushes None) would cost ~100 B of
  // memory per byte of file; the reader allows one value per 4 bytes (state dicts make one per
  // 6-8) beyond a floor, and refuses the rest before storing them.
  PickleWriter p;
  p.Proto();
  for (int i = 0; i < 100000; ++i) p.Op('N');
  p.Op('.');
  const Status st = ReadStatus(TorchZip(p.bytes(), {}));
  INFO(st.ToString());
  CHECK(st.code() == StatusCode::kCorruptData);
  CHECK(Mentions(st, "too many values"));
  // The reference checkpoints (about one value per 6-8 bytes) read.
  for (const char* rel : {"reference/rwkv6/model.pth", "reference/goldfinch/model.pth",
                          "reference/mamba1/model.pth"}) {
    const Bytes b = ReadFileBytes(DataPath(rel));
    INFO(rel);
    CHECK(ReadTorchCheckpoint(b.data(), b.size()).ok());
  }
}
