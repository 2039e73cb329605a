// Hostile llama2.c checkpoints: every failure is a clear Status, never a crash.
#include <cstring>
#include <fstream>
#include <sstream>

#include "platform/base/mapped_file.h"
#include "runtime/formats/checkpoint/llama2c_checkpoint.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;

namespace {

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::vector<uint8_t> LegacyHeader(std::vector<int32_t> h) {
  std::vector<uint8_t> b(h.size() * 4);
  std::memcpy(b.data(), h.data(), b.size());
  return b;
}

}  // namespace

TEST_CASE("the real stories260K checkpoint parses with the documented shape", "[unit]") {
  const auto bytes = ReadBytes(DataPath("models/llama2c/stories260K.bin"));
  auto ck = ParseLlama2cCheckpoint(bytes.data(), bytes.size());
  INFO(ck.status().ToString());
  REQUIRE(ck.ok());
  CHECK(ck->version == 0);
  CHECK(ck->shared_classifier);
  CHECK(ck->config.dim == 64);
  CHECK(ck->config.ffn_dim == 172);
  CHECK(ck->config.n_layers == 5);
  CHECK(ck->config.n_heads == 8);
  CHECK(ck->config.n_kv_heads == 4);
  CHECK(ck->config.vocab_size == 512);
  CHECK(ck->config.context_length == 512);
}

TEST_CASE("truncated checkpoints are rejected at every length", "[unit]") {
  const auto bytes = ReadBytes(DataPath("models/llama2c/stories260K.bin"));
  // Every prefix, 0 .. size - 1 bytes (about a million parses of a view: no copies).
  size_t accepted = 0, other_code = 0, first_bad = bytes.size();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto ck = ParseLlama2cCheckpoint(bytes.data(), n);
    const bool bad = ck.ok() || ck.status().code() != StatusCode::kCorruptData;
    accepted += ck.ok();
    other_code += !ck.ok() && ck.status().code() != StatusCode::kCorruptData;
    if (bad && first_bad == bytes.size()) first_bad = n;
  }
  INFO("first length not refused as corrupt data: " << first_bad);
  CHECK(accepted == 0);
  CHECK(other_code == 0);
  auto extra = bytes;
  extra.push_back(0);
  CHECK_FALSE(ParseLlama2cCheckpoint(extra.data(), extra.size()).ok());
}

TEST_CASE("absurd llama2.c headers are rejected", "[unit]") {
  const std::vector<std::vector<int32_t>> headers = {
      {0, 172, 5, 8, 4, 512, 512},   // zero dim
      {64, 172, 5, 8, 4, 512, -1},   // negative seq_len
      {64, 172, 5, 7, 4, 512, 512},  // dim not a multiple of heads
      {64, 172, 5, 8, 3, 512, 512},  // heads not a multiple of kv heads
      {0x7fffffff, 0x7fffffff, 0x7fffffff, 1, 1, 0x7fffffff, 0x7fffffff},  // overflow
      {64, 172, 5, 8, 4, INT32_MIN, 512},
  };
  for (const auto& h : headers) {
    auto b = LegacyHeader(h);
    b.resize(b.size() + 4096, 0);
    auto ck = ParseLlama2cCheckpoint(b.data(), b.size());
    CHECK_FALSE(ck.ok());
    CHECK_FALSE(ck.status().message().empty());
  }
}

TEST_CASE("llama2.c v1 (ak42) header: version, flag and size checks", "[unit]") {
  std::vector<uint8_t> b(256, 0);
  const uint32_t magic = 0x616b3432;
  int32_t version = 2;
  std::memcpy(b.data(), &magic, 4);
  std::memcpy(b.data() + 4, &version, 4);
  CHECK(ParseLlama2cCheckpoint(b.data(), b.size()).status().code() == StatusCode::kUnsupported);
  version = 1;
  std::memcpy(b.data() + 4, &version, 4);
  const int32_t h[7] = {8, 16, 1, 2, 2, 4, 4};
  std::memcpy(b.data() + 8, h, sizeof(h));
  b[36] = 1;  // shared classifier
  // rms_att 8 + rms_ffn 8 + rms_final 8 + embed 32 + wq 64 + wk 64 + wv 64 + wo 64 + w1/w2/w3 3*128
  const size_t floats = 8 + 8 + 8 + 32 + 4 * 64 + 3 * 128;
  std::vector<float> w(floats);
  for (size_t i = 0; i < floats; ++i) w[i] = float(i % 13) * 0.01f;
  b.resize(256 + floats * 4);
  std::memcpy(b.data() + 256, w.data(), floats * 4);
  auto ck = ParseLlama2cCheckpoint(b.data(), b.size());
  INFO(ck.status().ToString());
  REQUIRE(ck.ok());
  CHECK(ck->version == 1);
  CHECK(ck->weights.output.data == ck->weights.token_embd.data);
  // The v1 order puts the norms first: rms_att[0] starts at byte 256.
  CHECK(ck->weights.layers[0].attn_norm.data == b.data() + 256);
  CHECK(ck->weights.token_embd.data == b.data() + 256 + 24 * 4);
  b[36] = 7;
  CHECK_FALSE(ParseLlama2cCheckpoint(b.data(), b.size()).ok());
  b[36] = 0;  // separate classifier: now 32 floats short
  CHECK(ParseLlama2cCheckpoint(b.data(), b.size()).status().code() == StatusCode::kCorruptData);
}

TEST_CASE("loading missing or garbage files gives clear errors", "[unit]") {
  auto missing = Model::Load("/nonexistent/model.bin");
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK(missing.status().message().find("/nonexistent/model.bin") != std::string::npos);
  auto dir = Model::Load("/tmp");
  CHECK_FALSE(dir.ok());
  LoadOptions o;
  o.tokenizer_path = "/nonexistent/tok.bin";
  auto no_tok = Model::Load(DataPath("models/llama2c/stories260K.bin"), o);
  CHECK(no_tok.status().code() == StatusCode::kNotFound);
  // A tokenizer whose size does not match the model's vocabulary.
  o.tokenizer_path = DataPath("tokenizers/llama2-tokenizer.bin");
  auto mismatch = Model::Load(DataPath("models/llama2c/stories260K.bin"), o);
  CHECK_FALSE(mismatch.ok());
  // Cancelling the load through the progress callback.
  LoadOptions c;
  c.progress = [](float) { return false; };
  CHECK(Model::Load(DataPath("models/llama2c/stories260K.bin"), c).status().code() ==
        StatusCode::kCancelled);
}

TEST_CASE("non-UTF-8 and control-byte prompts evaluate without error", "[unit]") {
  LoadOptions o;
  o.tokenizer_path = DataPath("models/llama2c/tok512.bin");
  auto model = Model::Load(DataPath("models/llama2c/stories260K.bin"), o);
  REQUIRE(model.ok());
  static const char kRaw[] = "\xff\xfe\xc3(\x80 abc \x00\x01\xe2\x82";  // NUL inside
  const std::string hostile = std::string(kRaw, sizeof(kRaw) - 1) + "Lily";
  const auto ids = (*model)->tokenizer()->Encode(hostile, true);
  REQUIRE(ids.size() > 5);
  for (int32_t id : ids) CHECK((id >= 0 && id < 512));
  auto s = Session::Create(**model, {});
  REQUIRE(s.ok());
  CHECK((*s)->Eval(ids).ok());
}
