// Hostile rwkv.cpp files: every damaged variant of the real tiny model gives a clear error
// naming what is wrong, never a crash.
#include <cstring>
#include <fstream>

#include <catch2/catch.hpp>

#include "runtime/engine/network_loaders.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;

namespace {

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE(f.good());
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)),
                              std::istreambuf_iterator<char>());
}

// Byte offset of the header of tensor `name` in an rwkv.cpp file (independent walk of the
// documented layout).
size_t FindTensor(const std::vector<uint8_t>& b, const std::string& name) {
  size_t p = 24;
  while (p + 12 <= b.size()) {
    int32_t nd, nl, type;
    std::memcpy(&nd, &b[p], 4);
    std::memcpy(&nl, &b[p + 4], 4);
    std::memcpy(&type, &b[p + 8], 4);
    size_t n = 1;
    for (int d = 0; d < nd; ++d) {
      int32_t e;
      std::memcpy(&e, &b[p + 12 + 4 * d], 4);
      n *= size_t(e);
    }
    const size_t name_at = p + 12 + 4 * size_t(nd);
    if (std::string(reinterpret_cast<const char*>(&b[name_at]), size_t(nl)) == name) return p;
    p = name_at + size_t(nl) + n * (type == 0 ? 4 : 2);
  }
  FAIL("tensor " << name << " not found");
  return 0;
}

std::string LoadError(const std::vector<uint8_t>& b) {
  auto net = LoadNetworkFromRwkvCpp(b.data(), b.size());
  REQUIRE_FALSE(net.ok());
  return net.status().ToString();
}

}  // namespace

TEST_CASE("rwkv.cpp loader rejects damaged files with clear errors", "[unit]") {
  const auto good = ReadFile(DataPath("models/rwkv/tiny-rwkv-6v0-1m-FP32.bin"));
  REQUIRE(LoadNetworkFromRwkvCpp(good.data(), good.size()).ok());

  SECTION("missing tensor") {
    auto b = good;
    const size_t p = FindTensor(b, "blocks.3.att.gate.weight");
    std::memcpy(&b[p + 12 + 8], "blocks.3.att.gatX", 17);  // renames it
    CHECK_THAT(LoadError(b),
               Catch::Contains("blocks.3.att.gate.weight") && Catch::Contains("missing"));
  }
  SECTION("wrong shape") {
    auto b = good;
    const size_t p = FindTensor(b, "blocks.2.ffn.key.weight");  // ne (64, 224) -> (224, 64)
    int32_t ne0 = 224, ne1 = 64;
    std::memcpy(&b[p + 12], &ne0, 4);
    std::memcpy(&b[p + 16], &ne1, 4);
    CHECK_THAT(LoadError(b),
               Catch::Contains("blocks.2.ffn.key.weight") && Catch::Contains("shape"));
  }
  SECTION("quantized tensor type") {
    auto b = good;
    const size_t p = FindTensor(b, "head.weight");
    int32_t q5_1 = 8;
    std::memcpy(&b[p + 8], &q5_1, 4);
    CHECK_THAT(LoadError(b), Catch::Contains("head.weight") && Catch::Contains("Q5_1"));
  }
  SECTION("header contradicting the tensors") {
    auto b = good;
    int32_t layers = 13;
    std::memcpy(&b[16], &layers, 4);
    CHECK_THAT(LoadError(b), Catch::Contains("contradicts"));
  }
  SECTION("unsupported version and absurd sizes") {
    auto b = good;
    int32_t v = 7;
    std::memcpy(&b[4], &v, 4);
    CHECK_THAT(LoadError(b), Catch::Contains("version"));
    b = good;
    int32_t dims = -5;
    std::memcpy(&b[24], &dims, 4);
    CHECK_THAT(LoadError(b), Catch::Contains("dimensions"));
  }
  SECTION("truncated at 6 places, header to the last byte") {
    for (size_t cut :
         {size_t(3), size_t(20), size_t(30), size_t(100), good.size() / 2, good.size() - 1}) {
      std::vector<uint8_t> b(good.begin(), good.begin() + std::ptrdiff_t(cut));
      INFO("cut at " << cut);
      LoadError(b);
    }
  }
  SECTION("a non-RWKV-6 rwkv.cpp file") {
    const auto v7 = ReadFile(DataPath("models/rwkv/tiny-rwkv-7v0-834K-FP32.bin"));
    CHECK_THAT(LoadError(v7), Catch::Contains("RWKV-6"));
  }
}
