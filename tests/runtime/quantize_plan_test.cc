// floe quantize's choice of type per tensor (runtime/tools/quantize.h) against llama-quantize's
// rules as llama.cpp c392e50 states them (src/llama-quant.cpp, llama_tensor_get_type), worked
// out by hand here for synthetic files: the tensors' data are zeros, only names and shapes count.
// The bytes themselves are checked against llama-quantize's files in llamacpp_quant_test.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "runtime/formats/gguf/gguf_writer.h"
#include "runtime/tools/quantize.h"
#include "temp_files.h"

using namespace floe;

namespace {

struct Tensor {
  std::string name;
  std::vector<uint64_t> ne;
};

// Writes an all-f32 GGUF of the tensors (zeros) and returns each tensor's planned ggml type.
std::map<std::string, uint32_t> Plan(const std::vector<Tensor>& tensors, uint32_t layers,
                                     const std::string& scheme_name) {
  GgufWriter w;
  w.SetString("general.architecture", "llama");
  w.SetUint32("llama.block_count", layers);
  std::vector<std::vector<float>> data;
  for (const Tensor& t : tensors) {
    size_t n = 1;
    for (uint64_t d : t.ne) n *= d;
    data.emplace_back(n, 0.0f);
    REQUIRE(w.AddTensor(t.name, t.ne, 0, data.back().data(), n * 4).ok());
  }
  const std::string path = testing::TempPath("quantize_plan", scheme_name + ".gguf");
  testing::Cleanup cleanup{path};
  REQUIRE(w.WriteFile(path).ok());
  auto file = GgufFile::Open(path);
  REQUIRE(file.ok());
  auto scheme = ParseQuantizeScheme(scheme_name);
  REQUIRE(scheme.ok());
  const std::vector<uint32_t> types = PlanQuantizedTypes(*file, *scheme);
  std::map<std::string, uint32_t> out;
  for (size_t i = 0; i < types.size(); ++i) out[file->tensors()[i].name] = types[i];
  return out;
}

constexpr uint32_t kF32 = 0, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8;

// 12 layers, written out of order (blk.10 before blk.2) as a file may be: llama-quantize counts
// layers by number.
std::vector<Tensor> TwelveLayers(uint64_t ffn_down_row) {
  std::vector<Tensor> t = {{"token_embd.weight", {256, 16}}, {"output_norm.weight", {256}}};
  for (int i : {0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9}) {
    const std::string b = "blk." + std::to_string(i) + ".";
    t.push_back({b + "attn_v.weight", {256, 64}});
    t.push_back({b + "attn_q.weight", {256, 256}});
    t.push_back({b + "ffn_down.weight", {ffn_down_row, 256}});
    t.push_back({b + "attn_norm.weight", {256}});
  }
  t.push_back({"output.weight", {256, 16}});
  return t;
}

}  // namespace

TEST_CASE("q4_K_M and q5_K_M: llama-quantize's type for each tensor", "[unit]") {
  // use_more_bits(i, 12): i < 12/8 = 1, i >= 7*12/8 = 10, or (i - 1) % 3 == 2: layers 0, 3, 6,
  // 9, 10, 11 take q6_K for attn_v and ffn_down.
  const std::vector<int> more = {0, 3, 6, 9, 10, 11};
  for (const auto& [scheme, base] :
       {std::pair<std::string, uint32_t>{"q4_K_M", kQ4_K}, {"q5_K_M", kQ5_K}}) {
    INFO(scheme);
    auto types = Plan(TwelveLayers(256), 12, scheme);
    CHECK(types["output.weight"] == kQ6_K);
    CHECK(types["token_embd.weight"] == base);
    CHECK(types["output_norm.weight"] == kF32);
    for (int i = 0; i < 12; ++i) {
      INFO("layer " << i);
      const std::string b = "blk." + std::to_string(i) + ".";
      const bool m = std::find(more.begin(), more.end(), i) != more.end();
      CHECK(types[b + "attn_v.weight"] == (m ? kQ6_K : base));
      CHECK(types[b + "ffn_down.weight"] == (m ? kQ6_K : base));
      CHECK(types[b + "attn_q.weight"] == base);
      CHECK(types[b + "attn_norm.weight"] == kF32);
    }
  }
}

TEST_CASE("K-quant rows that are not a multiple of 256 fall back as llama-quantize", "[unit]") {
  // ffn_down rows of 288 (a multiple of 32, not of 256): q4_K -> q5_0, q5_K -> q5_1,
  // q6_K -> q8_0.
  auto m4 = Plan(TwelveLayers(288), 12, "q4_K_M");
  CHECK(m4["blk.0.ffn_down.weight"] == kQ8_0);  // q6_K by use_more_bits, then the fallback
  CHECK(m4["blk.1.ffn_down.weight"] == kQ5_0);
  auto m5 = Plan(TwelveLayers(288), 12, "q5_K_M");
  CHECK(m5["blk.1.ffn_down.weight"] == kQ5_1);
  auto pure4 = Plan(TwelveLayers(288), 12, "q4_K");
  CHECK(pure4["blk.0.ffn_down.weight"] == kQ5_0);
  CHECK(pure4["blk.0.attn_v.weight"] == kQ4_K);
  CHECK(pure4["output.weight"] == kQ4_K);  // pure: no output rule
  auto q6 = Plan(TwelveLayers(288), 12, "q6_K");
  CHECK(q6["blk.5.ffn_down.weight"] == kQ8_0);
  CHECK(q6["output.weight"] == kQ6_K);
}

TEST_CASE("tied output: token_embd takes the output rule", "[unit]") {
  std::vector<Tensor> t = TwelveLayers(256);
  t.pop_back();  // no output.weight
  auto types = Plan(t, 12, "q4_K_M");
  CHECK(types["token_embd.weight"] == kQ6_K);
}

TEST_CASE("quantize types: names and llama.cpp's file types", "[unit]") {
  const std::vector<std::pair<std::string, uint32_t>> expected = {
      {"q8_0", 7},  {"q4_0", 2},  {"q4_1", 3},    {"q5_0", 8},    {"q5_1", 9}, {"q4_K", 14},
      {"q5_K", 16}, {"q6_K", 18}, {"Q4_K_M", 15}, {"q5_k_m", 17}, {"f16", 1},  {"BF16", 32}};
  for (const auto& [name, file_type] : expected) {
    INFO(name);
    auto s = ParseQuantizeScheme(name);
    REQUIRE(s.ok());
    CHECK(s->file_type == file_type);
  }
  auto bad = ParseQuantizeScheme("q3_K_L");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("q4_K_M") != std::string::npos);
}

// llama.cpp converts a matrix of any row length to F16 / BF16 (a block of one element); the
// quantized types need rows of whole 32-element blocks, else the matrix is copied.
TEST_CASE("f16 and bf16 take rows of any length, quantized types whole blocks", "[unit]") {
  const std::vector<Tensor> t = {{"blk.0.attn_q.weight", {33, 8}},
                                 {"blk.0.attn_k.weight", {64, 8}},
                                 {"blk.0.attn_norm.weight", {33}}};
  constexpr uint32_t kF16 = 1, kBF16 = 30;
  auto f16 = Plan(t, 1, "f16");
  CHECK(f16["blk.0.attn_q.weight"] == kF16);
  CHECK(f16["blk.0.attn_k.weight"] == kF16);
  CHECK(f16["blk.0.attn_norm.weight"] == kF32);
  auto bf16 = Plan(t, 1, "bf16");
  CHECK(bf16["blk.0.attn_q.weight"] == kBF16);
  auto q8 = Plan(t, 1, "q8_0");
  CHECK(q8["blk.0.attn_q.weight"] == kF32);
  CHECK(q8["blk.0.attn_k.weight"] == kQ8_0);
}
