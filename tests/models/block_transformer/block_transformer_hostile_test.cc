// Bad input: inconsistent configs (block length vs embedder width, heads not dividing widths,
// other strategies), missing and misshapen tensors, and bad GGUF keys give clear errors.
#include <fstream>
#include <sstream>
#include <string>

#include "block_transformer_test_util.h"
#include "models/block_transformer/block_transformer_gguf.h"
#include "platform/base/model_collector.h"
#include "runtime/formats/checkpoint/json_metadata.h"
#include "test_data.h"

using namespace floe;
using namespace floe::bt_test;

namespace {

std::string ReferenceConfig() {
  std::ifstream in(floe::testing::DataPath("reference/block_transformer/config.json"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Replaces every occurrence of `from` by `to`.
std::string Edit(std::string s, const std::string& from, const std::string& to) {
  size_t n = 0;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()), ++n)
    s.replace(at, from.size(), to);
  REQUIRE(n > 0);
  return s;
}

Status ConfigStatus(const std::string& text) {
  auto m = JsonMetadata::Parse(text);
  REQUIRE(m.ok());
  return BlockTransformerConfigFromJson(*m).status();
}

bool Mentions(const Status& s, const std::string& what) {
  return s.message().find(what) != std::string::npos;
}

}  // namespace

TEST_CASE("Block Transformer config.json: the reference parses", "[unit]") {
  auto m = JsonMetadata::Parse(ReferenceConfig());
  REQUIRE(m.ok());
  auto c = BlockTransformerConfigFromJson(*m);
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  CHECK(c->block_length == 4);
  CHECK(c->embedder_dim == 16);
  CHECK(c->expansion_ratio == 2);
  CHECK(c->block.rot_dim == 4);
  CHECK(c->token.hidden == 64);
}

TEST_CASE("Block Transformer config.json: inconsistent configs are clear errors", "[unit]") {
  const std::string ref = ReferenceConfig();
  // Block length 8 with a lookup width of 16: 8 x 16 != 64.
  Status s = ConfigStatus(Edit(ref, "\"block_length\": 4", "\"block_length\": 8"));
  INFO(s.ToString());
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(Mentions(s, "block_length 8 x embedder hidden_size 16"));
  // Heads not dividing the width.
  s = ConfigStatus(Edit(ref, "\"num_attention_heads\": 4", "\"num_attention_heads\": 5"));
  INFO(s.ToString());
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(Mentions(s, "does not divide"));
  // Another decoding strategy; another activation; a missing key.
  s = ConfigStatus(
      Edit(ref, "\"decoding_strategy\": \"prefix\"", "\"decoding_strategy\": \"summation\""));
  CHECK(s.code() == StatusCode::kUnsupported);
  CHECK(Mentions(s, "decoding_strategy"));
  s = ConfigStatus(Edit(ref, "\"hidden_act\": \"gelu\"", "\"hidden_act\": \"relu\""));
  CHECK(s.code() == StatusCode::kUnsupported);
  s = ConfigStatus(Edit(ref, "\"expansion_ratio\": 2,\n   \"decoding",
                        "\"expansion_ratio\": -2,\n   \"decoding"));
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(Mentions(s, "expansion_ratio"));
  s = ConfigStatus("{\"resolved\": {}}");
  CHECK_FALSE(s.ok());
}

TEST_CASE("Block Transformer binder: missing and misshapen tensors are named", "[unit]") {
  const BlockTransformerConfig c = Small(4);
  const Fixture f = Build(c, 2);
  // Missing.
  TensorSet missing = f.random->tensors;
  std::erase_if(missing.tensors, [](const NamedTensor& t) {
    return t.name == "token_decoder.gpt_neox.layers.1.mlp.dense_h_to_4h.bias";
  });
  missing.Index();
  auto r = BindBlockTransformer(c, missing);
  INFO(r.status().ToString());
  REQUIRE_FALSE(r.ok());
  CHECK(Mentions(r.status(), "token_decoder.gpt_neox.layers.1.mlp.dense_h_to_4h.bias"));
  // Misshapen: the expansion layer for another ratio.
  TensorSet bad = f.random->tensors;
  for (NamedTensor& t : bad.tensors)
    if (t.name == "token_decoder.expansion_layer.weight") t.shape = {48, 32, 1};
  bad.Index();
  r = BindBlockTransformer(c, bad);
  INFO(r.status().ToString());
  REQUIRE_FALSE(r.ok());
  CHECK(Mentions(r.status(), "token_decoder.expansion_layer.weight"));
  CHECK(Mentions(r.status(), "expansion_ratio 3"));
  // A layer beyond the configured count.
  BlockTransformerConfig fewer = c;
  fewer.token.layers = 2;
  r = BindBlockTransformer(fewer, f.random->tensors);
  REQUIRE_FALSE(r.ok());
  CHECK(Mentions(r.status(), "token_decoder.gpt_neox.layers.2"));
  // Inconsistent config values reach the binder too.
  BlockTransformerConfig wide = c;
  wide.embedder_dim = 9;
  r = BindBlockTransformer(wide, f.random->tensors);
  REQUIRE_FALSE(r.ok());
  CHECK(Mentions(r.status(), "block_length 4 x embedder hidden_size 9"));
}

TEST_CASE("Block Transformer GGUF: bad keys and tensors are clear errors", "[unit]") {
  const BlockTransformerConfig c = Small(4);
  const Fixture f = Build(c, 4);
  ModelCollector out("collector");
  REQUIRE(WriteBlockTransformerGguf(c, f.model->weights(), out).ok());
  const TensorSet& set = out.tensors();
  // Heads that do not divide the width.
  {
    MetadataMap m = out.metadata();
    m.Set("block-transformer.token_decoder.attention.head_count", int64_t(5));
    auto r = BlockTransformerFromGguf(m, set);
    INFO(r.status().ToString());
    REQUIRE_FALSE(r.ok());
    CHECK(Mentions(r.status(), "does not divide"));
  }
  // A missing key.
  {
    ModelCollector partial("collector");
    REQUIRE(WriteBlockTransformerGguf(c, f.model->weights(), partial).ok());
    MetadataMap m = partial.metadata();
    m.Set("block-transformer.block_length", int64_t(0));
    auto r = BlockTransformerFromGguf(m, set);
    REQUIRE_FALSE(r.ok());
    CHECK(Mentions(r.status(), "block_length"));
  }
  // A misshapen tensor is named by its GGUF name.
  {
    TensorSet bad = set;
    for (NamedTensor& t : bad.tensors)
      if (t.name == "td.blk.1.attn_qkv.bias") t.shape = {71};
    bad.Index();
    auto r = BlockTransformerFromGguf(out.metadata(), bad);
    INFO(r.status().ToString());
    REQUIRE_FALSE(r.ok());
    CHECK(Mentions(r.status(), "'td.blk.1.attn_qkv.bias'"));
  }
}
