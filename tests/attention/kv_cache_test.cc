// The KV cache's size checks (docs/allocation-audit.md item 4): its capacity often comes from a
// model file's context length, so a cache larger than the machine's memory is refused at Init
// with a message naming the context, instead of being reserved and failing when filled; one that
// fits is made.
#include <string>

#include <catch2/catch.hpp>

#include "attention/dense/kv_cache.h"
#include "platform/base/aligned_buffer.h"

using namespace floe;

TEST_CASE("a KV cache larger than the machine's memory is refused at Init", "[unit]") {
  const size_t ram = PhysicalMemoryBytes();
  REQUIRE(ram > 0);
  const size_t row = 2 * 64 * sizeof(float);  // one position: key + value of one 64-wide head
  KvCache too_big;
  const Status st = too_big.Init(1, 1, 64, ram / row + 1024, DType::kF32);
  INFO(st.ToString());
  CHECK(st.code() == StatusCode::kOutOfMemory);
  CHECK(st.message().find("exceeds this machine's memory") != std::string::npos);
  CHECK(st.message().find("context of " + std::to_string(ram / row + 1024) + " positions") !=
        std::string::npos);
  CHECK(too_big.capacity() == 0);
  KvCache fits;
  REQUIRE(fits.Init(2, 2, 64, 1024, DType::kF16).ok());
  CHECK(fits.capacity() == 1024);
}
