// Model-level hostile GGUFs: files that parse as GGUF but contradict themselves or ask for what
// floe does not support. Each must fail Model::Load with an error naming the key or tensor.
// The files are derived from the converted stories260K (a valid "llama" GGUF), changed one
// thing at a time.
#include <cstring>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "runtime/tools/convert_llama2c.h"
#include "runtime/formats/gguf/gguf_reader.h"
#include "runtime/formats/gguf/gguf_writer.h"
#include "runtime/engine/model.h"
#include "temp_files.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;

namespace {

std::string TempPath(const std::string& stem) { return testing::TempPath("hostile", stem); }

const std::string& ValidGguf() {
  static const std::string path = [] {
    ConvertLlama2cOptions o;
    o.checkpoint_path = DataPath("models/llama2c/stories260K.bin");
    o.tokenizer_path = DataPath("models/llama2c/tok512.bin");
    o.output_path = TempPath("valid.gguf");
    REQUIRE(ConvertLlama2cToGguf(o).ok());
    return o.output_path;
  }();
  static const struct RemoveAtExit {
    std::string p;
    ~RemoveAtExit() { std::filesystem::remove(p); }
  } remove_at_exit{path};
  return path;
}

// Rewrites the valid file: `meta` may change metadata values, `tensor` may rename (return
// false to drop) a tensor or change its shape.
using MetaEdit = std::function<void(const std::string& key, GgufValue& v)>;
using TensorEdit = std::function<bool(std::string& name, std::vector<uint64_t>& ne)>;

std::string Rewrite(const std::string& name, const MetaEdit& meta, const TensorEdit& tensor,
                    std::vector<std::vector<uint8_t>>* keep) {
  auto src = GgufFile::Open(ValidGguf());
  REQUIRE(src.ok());
  GgufWriter w;
  for (auto [key, value] : src->metadata()) {
    if (meta) meta(key, value);
    w.SetValue(key, value);
  }
  for (const GgufTensorInfo& t : src->tensors()) {
    std::string tname = t.name;
    std::vector<uint64_t> ne = t.ne;
    if (tensor && !tensor(tname, ne)) continue;
    uint64_t elems = 1;
    for (uint64_t d : ne) elems *= d;
    keep->emplace_back(elems * sizeof(float), 0);  // f32 data of the (possibly new) shape
    std::memcpy(keep->back().data(), t.data, std::min<size_t>(keep->back().size(), t.nbytes));
    REQUIRE(
        w.AddTensor(tname, ne, /*GGML_TYPE_F32=*/0, keep->back().data(), keep->back().size()).ok());
  }
  const std::string path = TempPath(name);
  REQUIRE(w.WriteFile(path).ok());
  return path;
}

Status LoadStatus(const std::string& path) {
  auto m = Model::Load(path);
  std::filesystem::remove(path);
  return m.ok() ? Status::Ok() : m.status();
}

}  // namespace

TEST_CASE("the unmodified rewrite loads (the harness itself is sound)", "[unit]") {
  std::vector<std::vector<uint8_t>> keep;
  CHECK(LoadStatus(Rewrite("same.gguf", nullptr, nullptr, &keep)).ok());
}

TEST_CASE("unknown architecture is named", "[unit]") {
  std::vector<std::vector<uint8_t>> keep;
  const auto st = LoadStatus(Rewrite(
      "arch.gguf",
      [](const std::string& k, GgufValue& v) {
        if (k == "general.architecture") v.s = "mysterynet";
      },
      nullptr, &keep));
  INFO(st.ToString());
  CHECK(st.code() == StatusCode::kUnsupported);
  CHECK(st.ToString().find("mysterynet") != std::string::npos);
}

TEST_CASE("a missing tensor is named", "[unit]") {
  std::vector<std::vector<uint8_t>> keep;
  const auto st = LoadStatus(Rewrite(
      "missing.gguf", nullptr,
      [](std::string& n, std::vector<uint64_t>&) { return n != "blk.3.ffn_up.weight"; }, &keep));
  INFO(st.ToString());
  CHECK_FALSE(st.ok());
  CHECK(st.ToString().find("blk.3.ffn_up.weight") != std::string::npos);
}

TEST_CASE("a tensor shape that contradicts the metadata is named", "[unit]") {
  std::vector<std::vector<uint8_t>> keep;
  const auto st = LoadStatus(Rewrite(
      "shape.gguf", nullptr,
      [](std::string& n, std::vector<uint64_t>& ne) {
        if (n == "blk.1.attn_k.weight") ne[1] += 1;
        return true;
      },
      &keep));
  INFO(st.ToString());
  CHECK_FALSE(st.ok());
  CHECK(st.ToString().find("blk.1.attn_k.weight") != std::string::npos);
}

TEST_CASE("metadata that contradicts itself is named", "[unit]") {
  std::vector<std::vector<uint8_t>> keep;
  const auto st = LoadStatus(Rewrite(
      "heads.gguf",
      [](const std::string& k, GgufValue& v) {
        if (k == "llama.attention.head_count") v.u = 7;  // 64 is not divisible by 7
      },
      nullptr, &keep));
  INFO(st.ToString());
  CHECK_FALSE(st.ok());
  CHECK(st.ToString().find("head") != std::string::npos);
}

TEST_CASE("an unknown tensor type is named", "[unit]") {
  std::vector<std::vector<uint8_t>> keep;
  const std::string path = Rewrite("type.gguf", nullptr, nullptr, &keep);
  // Patch blk.2.attn_v.weight's ggml type (after name, n_dims, ne[]) to 99 in place.
  std::string bytes;
  {
    auto f = MappedFile::Open(path, FileLoadMode::kRead);
    REQUIRE(f.ok());
    bytes.assign(reinterpret_cast<const char*>(f->data()), f->size());
  }
  const std::string name = "blk.2.attn_v.weight";
  const size_t at = bytes.find(name);
  REQUIRE(at != std::string::npos);
  uint32_t n_dims = 0;
  std::memcpy(&n_dims, bytes.data() + at + name.size(), 4);
  REQUIRE(n_dims == 2);
  const uint32_t bad = 99;
  std::memcpy(bytes.data() + at + name.size() + 4 + 8 * n_dims, &bad, 4);
  {
    FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f);
    REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
    std::fclose(f);
  }
  const auto st = LoadStatus(path);
  INFO(st.ToString());
  CHECK_FALSE(st.ok());
  CHECK(st.ToString().find(name) != std::string::npos);
}

TEST_CASE("a ggml type floe does not compute (iq4_nl) is named with the supported list", "[unit]") {
  auto src = GgufFile::Open(ValidGguf());
  REQUIRE(src.ok());
  GgufWriter w;
  for (const auto& [key, value] : src->metadata()) w.SetValue(key, value);
  std::vector<uint8_t> q4_1;
  for (const GgufTensorInfo& t : src->tensors()) {
    if (t.name == "blk.1.ffn_up.weight") {
      REQUIRE(t.ne[0] % 32 == 0);
      q4_1.assign(t.ne[1] * (t.ne[0] / 32) * 18, 0);  // iq4_nl: 18 bytes per 32 elements
      REQUIRE(w.AddTensor(t.name, t.ne, /*GGML_TYPE_IQ4_NL=*/20, q4_1.data(), q4_1.size()).ok());
    } else {
      REQUIRE(w.AddTensor(t.name, t.ne, t.type, t.data, t.nbytes).ok());
    }
  }
  const std::string path = TempPath("q4_1.gguf");
  REQUIRE(w.WriteFile(path).ok());
  const auto st = LoadStatus(path);
  INFO(st.ToString());
  CHECK(st.code() == StatusCode::kUnsupported);
  CHECK(st.ToString().find("blk.1.ffn_up.weight") != std::string::npos);
  CHECK(st.ToString().find("iq4_nl") != std::string::npos);
  CHECK(st.ToString().find("q4_0") != std::string::npos);
}
