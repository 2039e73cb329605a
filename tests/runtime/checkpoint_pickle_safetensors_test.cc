// The pickle VM opcode by opcode and its limits; safetensors files crafted and corrupted.
#include <cstring>

#include "runtime/formats/checkpoint/pickle.h"
#include "runtime/formats/checkpoint/safetensors.h"
#include "checkpoint_test_util.h"
#include "test_data.h"

using namespace floe;
using namespace floe::testing;
using K = PickleValue::Kind;

namespace {

Result<Pickle> Run(const PickleWriter& p, const PickleLimits& limits = {}) {
  return ParsePickle(p.bytes().data(), p.bytes().size(), TorchPickleGlobals(), limits);
}

Status StStatus(const std::string& header, const Bytes& data) {
  const Bytes file = SafetensorsFile(header, data);
  return ReadSafetensors(file.data(), file.size()).status();
}

}  // namespace

TEST_CASE("pickle: scalars, strings, containers and the memo", "[unit]") {
  PickleWriter p;
  p.Proto(4).Op(0x95).Raw(std::string("\x10\0\0\0\0\0\0\0", 8));  // FRAME (a hint only)
  p.Op(']').Op(0x94).Mark();                                      // list, MEMOIZE -> memo[0]
  p.Op('J').Raw("\xfe\xff\xff\xff");                              // BININT -2
  p.Op(0x8a).Op(2).Raw(std::string("\x00\x80", 2));               // LONG1 -32768
  p.Op(0x8a).Op(0);                                               // LONG1 0
  p.Op('G').Raw(std::string("\x3f\xf8\0\0\0\0\0\0", 8));          // BINFLOAT 1.5 (big-endian)
  p.Op(0x88).Op('N').ShortStr("h\xC3\xA9");
  p.Op(0x8d).Raw(std::string("\x02\0\0\0\0\0\0\0", 8)).Raw("xy");  // BINUNICODE8
  p.Op('e');                                                       // APPENDS
  p.Int(65535).Op('a');                                            // BININT2, APPEND
  p.Op('h').Op(0).Op(0x85).Op('a');                                // append (memo[0],) -> cycle
  p.Op('.');
  auto r = Run(p);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  const Pickle& pk = *r;
  const PickleValue& list = pk.root_value();
  REQUIRE(list.kind == K::kList);
  REQUIRE(list.items.size() == 10);
  CHECK(pk.at(list.items[0]).i == -2);
  CHECK(pk.at(list.items[1]).i == -32768);
  CHECK(pk.at(list.items[2]).i == 0);
  CHECK(pk.at(list.items[3]).f == 1.5);
  CHECK(pk.at(list.items[4]).b);
  CHECK(pk.at(list.items[5]).kind == K::kNone);
  CHECK(pk.at(list.items[6]).str == "h\xC3\xA9");
  CHECK(pk.at(list.items[7]).str == "xy");
  CHECK(pk.at(list.items[8]).i == 65535);
  const PickleValue& cycle = pk.at(list.items.back());  // never walked recursively
  CHECK(cycle.kind == K::kTuple);
  CHECK(cycle.items[0] == pk.root);
}

TEST_CASE("pickle: malformed streams are kCorruptData, limits hold", "[unit]") {
  auto code = [](const PickleWriter& p) { return Run(p).status().code(); };
  CHECK(code(PickleWriter().Proto()) == StatusCode::kCorruptData);          // no STOP
  CHECK(code(PickleWriter().Proto().Op('.')) == StatusCode::kCorruptData);  // empty stack
  CHECK(code(PickleWriter().Op('s').Op('.')) == StatusCode::kCorruptData);  // SETITEM underflow
  CHECK(code(PickleWriter().Op('N').Op('N').Op('N').Op('s')) ==
        StatusCode::kCorruptData);  // not a dict
  CHECK(code(PickleWriter().Op('}').Mark().Op('N').Op('u')) ==
        StatusCode::kCorruptData);                                        // odd SETITEMS
  CHECK(code(PickleWriter().Op('h').Op(3)) == StatusCode::kCorruptData);  // memo miss
  CHECK(code(PickleWriter().Op('q').Op(0)) == StatusCode::kCorruptData);  // put of nothing
  CHECK(code(PickleWriter().Op('t')) == StatusCode::kCorruptData);        // no MARK
  CHECK(code(PickleWriter().Op('N').Mark().Op(0x85)) ==
        StatusCode::kCorruptData);  // pops below MARK
  CHECK(code(PickleWriter().Op('X').Raw("\xff\xff\xff\x7f")) ==
        StatusCode::kCorruptData);  // huge string
  CHECK(code(PickleWriter().Op(0x8d).Raw(std::string(8, '\xff'))) == StatusCode::kCorruptData);
  CHECK(code(PickleWriter().Op(0x95).Raw(std::string(8, '\xff'))) == StatusCode::kCorruptData);
  CHECK(code(PickleWriter().Op('c').Raw("collections\nOrderedDict")) == StatusCode::kCorruptData);
  CHECK(code(PickleWriter().Op('N').Op(')').Op('R')) == StatusCode::kCorruptData);  // call of None
  CHECK(code(PickleWriter().Op('N').Op('N').Op('b')) == StatusCode::kCorruptData);  // BUILD on None
  CHECK(code(PickleWriter().Op(0x8a).Op(9).Raw(std::string(9, '\1'))) == StatusCode::kUnsupported);
  CHECK(code(PickleWriter().Proto(6)) == StatusCode::kUnsupported);
  PickleLimits small;
  small.max_stack = 10;
  small.max_marks = 10;
  small.max_memo = 2;
  PickleWriter deep_stack, deep_marks, big_memo;
  for (int i = 0; i < 11; ++i) deep_stack.Op('N');
  for (int i = 0; i < 11; ++i) deep_marks.Mark();
  big_memo.Op('N');
  for (int i = 0; i < 3; ++i) big_memo.Op('q').Op(uint8_t(i));
  CHECK(Run(deep_stack, small).status().code() == StatusCode::kCorruptData);
  CHECK(Run(deep_marks, small).status().code() == StatusCode::kCorruptData);
  CHECK(Run(big_memo, small).status().code() == StatusCode::kCorruptData);
  // Every opcode byte outside the subset is refused by name, never executed.
  const std::string refused = std::string("ILSVUTBCioOPdlgp") + "\x81\x82\x92\x96\x97\x98";
  for (char c : refused) {
    const int op = static_cast<unsigned char>(c);
    const Status st = Run(PickleWriter().Op(uint8_t(op))).status();
    INFO("opcode " << op << ": " << st.ToString());
    CHECK(st.code() == StatusCode::kUnsupported);
    CHECK(st.message().find("opcode") != std::string::npos);
  }
}

TEST_CASE("safetensors: a crafted file reads with each dtype", "[unit]") {
  const std::string header =
      R"({"__metadata__": {"format": "pt"}, "b": {"dtype": "F16", "shape": [2], "data_offsets": [16, 20]},)"
      R"( "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},)"
      R"( "e": {"dtype": "BF16", "shape": [0, 5], "data_offsets": [20, 20]}, "s": {"dtype": "BF16", "shape": [], "data_offsets": [20, 22]}})";
  Bytes data = FloatBytes({1, 2, 3, 4});
  for (uint8_t x : {0x00, 0x3c, 0x00, 0x40, 0x80, 0x3f}) data.push_back(x);
  const Bytes file = SafetensorsFile(header, data);
  auto set = ReadSafetensors(file.data(), file.size());
  INFO(set.status().ToString());
  REQUIRE(set.ok());
  REQUIRE(set->tensors.size() == 4);
  CHECK(set->tensors[0].name == "b");  // header order
  CHECK(set->tensors[0].dtype == DType::kF16);
  CHECK(F16ToF32(uint16_t(set->tensors[0].data[0] | set->tensors[0].data[1] << 8)) == 1.0f);
  const NamedTensor* a = set->Find("a");
  CHECK(a->shape == std::vector<uint64_t>{2, 2});
  CHECK(std::memcmp(a->data, data.data(), 16) == 0);
  CHECK(set->Find("e")->bytes == 0);
  CHECK(set->Find("s")->dtype == DType::kBF16);
  CHECK(set->Find("s")->shape.empty());
}

TEST_CASE("safetensors: hostile headers are rejected", "[unit]") {
  const Bytes d16(16, 0);
  auto t = [](const std::string& body) { return "{\"t\": {" + body + "}}"; };
  const std::string ok = R"("dtype": "F32", "shape": [4], "data_offsets": [0, 16])";
  REQUIRE(StStatus(t(ok), d16).ok());
  for (const char* body : {
           R"("dtype": "F32", "shape": [4], "data_offsets": [0, 20])",  // past the end
           R"("dtype": "F32", "shape": [4], "data_offsets": [8, 4])",   // end < begin
           R"("dtype": "F32", "shape": [3], "data_offsets": [0, 16])",  // size != numel * 4
           R"("dtype": "F32", "shape": [-4], "data_offsets": [0, 16])",
           R"("dtype": "F32", "shape": [4.5], "data_offsets": [0, 16])",
           R"("dtype": "F32", "shape": [4294967296, 4294967296, 4], "data_offsets": [0, 16])",
           R"("dtype": "F32", "shape": [4], "data_offsets": [0, 18446744073709551632])",
           R"("dtype": "F32", "shape": [4], "data_offsets": [-16, 0])",
           R"("dtype": "F32", "shape": [4], "data_offsets": [0])",
           R"("dtype": "F32", "shape": 4, "data_offsets": [0, 16])",
           R"("dtype": 1, "shape": [4], "data_offsets": [0, 16])",
           R"("shape": [4], "data_offsets": [0, 16])",
       }) {
    const Status st = StStatus(t(body), d16);
    INFO(body << " -> " << st.ToString());
    CHECK(st.code() == StatusCode::kCorruptData);
    CHECK(st.message().find("'t'") != std::string::npos);
  }
  Status st = StStatus(t(R"("dtype": "I64", "shape": [2], "data_offsets": [0, 16])"), d16);
  CHECK(st.code() == StatusCode::kUnsupported);
  CHECK(st.message().find("'t'") != std::string::npos);
  CHECK(st.message().find("I64") != std::string::npos);
  st = StStatus(R"({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},)"
                R"( "y": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
                d16);
  CHECK(st.code() == StatusCode::kCorruptData);
  CHECK(st.message().find("overlap") != std::string::npos);
  for (const std::string& h :
       {std::string("[]"), std::string("{"), std::string(""), std::string("{\"__metadata__\": 1}"),
        std::string("{\"t\": 1}"), t(ok) + "x"})
    CHECK(StStatus(h, d16).code() == StatusCode::kCorruptData);
  // Header lengths beyond the file (or absurd) fail before anything is allocated.
  for (uint64_t len : {uint64_t(17), uint64_t(1) << 40, ~uint64_t(0), ~uint64_t(0) - 7}) {
    Bytes b;
    PutLe(&b, len, 8);
    PutStr(&b, "{}      ");
    b.resize(b.size() + 8);
    CHECK(ReadSafetensors(b.data(), b.size()).status().code() == StatusCode::kCorruptData);
  }
  for (size_t n = 0; n < 8; ++n) CHECK_FALSE(ReadSafetensors(d16.data(), n).ok());
}

TEST_CASE("safetensors: the transnormer file truncated or flipped never crashes", "[unit]") {
  Bytes file = ReadFileBytes(DataPath("reference/transnormer/model.safetensors"));
  REQUIRE(ReadSafetensors(file.data(), file.size()).ok());
  uint64_t header_len = 0;
  std::memcpy(&header_len, file.data(), 8);
  REQUIRE(header_len < file.size());
  for (size_t cut :
       {size_t(0), size_t(7), size_t(8), size_t(100), size_t(8 + header_len), file.size() - 1}) {
    INFO("cut at " << cut);
    CHECK_FALSE(ReadSafetensors(file.data(), cut).ok());
  }
  for (size_t pos = 0; pos < 8 + header_len; ++pos) {
    for (uint8_t flip : {uint8_t(0x01), uint8_t(0x80)}) {
      file[pos] ^= flip;
      auto set = ReadSafetensors(file.data(), file.size());
      if (set.ok())
        for (const NamedTensor& tn : set->tensors)
          REQUIRE(tn.bytes <= size_t(file.data() + file.size() - tn.data));
      file[pos] ^= flip;
    }
  }
}
