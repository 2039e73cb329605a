// Hostile GoldFinch checkpoints: every missing or misshapen tensor, a GOLD layer index out of
// range, and a config.json that contradicts the tensors give a clear error naming the culprit,
// never a crash (these run under ASan/UBSan in CI).
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "checkpoint_test_util.h"
#include "models/goldfinch/goldfinch_model.h"
#include "models/goldfinch/goldfinch_weights.h"
#include "runtime/engine/network_loaders.h"
#include "runtime/formats/checkpoint/json_metadata.h"
#include "runtime/formats/checkpoint/torch_checkpoint.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;
using floe::testing::ReadFileBytes;

namespace {

const std::vector<uint8_t>& Bytes() {
  static const std::vector<uint8_t> b = ReadFileBytes(DataPath("reference/goldfinch/model.pth"));
  return b;
}

TensorSet Good() {
  auto set = ReadTorchCheckpoint(Bytes().data(), Bytes().size());
  REQUIRE(set.ok());
  TensorSet s = std::move(set).value();
  s.Index();
  return s;
}

NamedTensor* Find(TensorSet& s, const std::string& name) {
  for (auto& t : s.tensors)
    if (t.name == name) return &t;
  FAIL("no tensor " << name);
  return nullptr;
}

std::string BindError(TensorSet s, const MetadataView* json = nullptr) {
  s.Index();
  auto net = BindGoldfinch(s, json);
  REQUIRE_FALSE(net.ok());
  return net.status().ToString();
}

}  // namespace

TEST_CASE("GoldFinch binder accepts the reference checkpoint", "[unit]") {
  TensorSet s = Good();
  CHECK(LooksLikeGoldfinch(s));
  auto net = BindGoldfinch(s, nullptr);
  INFO(net.status().ToString());
  REQUIRE(net.ok());
  CHECK(net->config.first_gold_layer == 4);
  CHECK(net->config.n_layer == 6);
  CHECK(net->config.kv_a_dim == 4);
  auto lm = GoldfinchModel::Create(std::move(net).value());
  REQUIRE(lm.ok());
  CHECK((*lm)->cache_bytes_per_token(DType::kF32) == 4 + 4 * 4);
  CHECK((*lm)->cache_bytes_per_token(DType::kF16) == 4 + 4 * 2);
}

TEST_CASE("GoldFinch binder: every tensor missing is an error naming it", "[unit]") {
  const TensorSet good = Good();
  for (size_t i = 0; i < good.tensors.size(); ++i) {
    TensorSet s = good;
    const std::string name = s.tensors[i].name;
    s.tensors.erase(s.tensors.begin() + long(i));
    s.Index();
    auto net = BindGoldfinch(s, nullptr);
    INFO("removed " << name);
    // Removing the first GOLD layer's time_maa_q makes layer 4 look like a Finch-C2 layer
    // with GOLD tensors: still an error.
    REQUIRE_FALSE(net.ok());
    const std::string e = net.status().ToString();
    INFO(e);
    const bool names = e.find(name) != std::string::npos ||
                       e.find("layer 4") != std::string::npos ||
                       e.find("blocks.5.") != std::string::npos;
    CHECK(names);
  }
}

TEST_CASE("GoldFinch binder: misshapen tensors are errors naming them", "[unit]") {
  const TensorSet good = Good();
  for (const char* name :
       {"w_kv_cache_b.weight", "w_kv_cache_a.weight", "blocks.4.att.time_maa_kv_w2",
        "blocks.1.att.time_value2_w2", "blocks.5.att.ln_k.weight", "blocks.2.att.time_maa_w2",
        "head.weight", "blocks.4.att.query.weight", "blocks.0.att.time_faaaa"}) {
    TensorSet s = good;
    NamedTensor* t = Find(s, name);
    t->shape.back() -= 1;
    INFO(name);
    const std::string e = BindError(s);
    INFO(e);
    CHECK((e.find(std::string("'") + name + "'") != std::string::npos ||
           e.find("head_size") != std::string::npos));
  }
  // A misshapen embedding changes the config; the error still names a tensor.
  TensorSet s = good;
  Find(s, "emb.weight")->shape = {256};
  CHECK(BindError(s).find("emb.weight") != std::string::npos);
}

TEST_CASE("GoldFinch binder: GOLD layer split out of range or inconsistent", "[unit]") {
  const TensorSet good = Good();
  {
    // No GOLD layer at all: first GOLD layer == n_layer.
    TensorSet s = good;
    for (auto& t : s.tensors)
      if (t.name.rfind("blocks.4.att.time_maa_q", 0) == 0 ||
          t.name.rfind("blocks.5.att.time_maa_q", 0) == 0)
        t.name = "unused." + t.name;
    const std::string e = BindError(s);
    INFO(e);
    CHECK(e.find("first_gold_layer") != std::string::npos);
  }
  {
    // Layer 0 holding GOLD tensors: first GOLD layer 0 is out of range.
    TensorSet s = good;
    Find(s, "blocks.4.att.time_maa_q")->name = "blocks.0.att.time_maa_q";
    const std::string e = BindError(s);
    INFO(e);
    CHECK(e.find("first_gold_layer") != std::string::npos);
  }
  {
    // A GOLD tensor inside a Finch-C2 layer after the first GOLD layer cannot happen; a
    // Finch-C2 tensor inside a GOLD layer is named.
    TensorSet s = good;
    Find(s, "blocks.1.att.time_decay")->name = "blocks.5.att.time_decay";
    const std::string e = BindError(s);
    INFO(e);
    CHECK(e.find("blocks.") != std::string::npos);
  }
}

TEST_CASE("GoldFinch config.json contradicting the tensors is an error naming the key", "[unit]") {
  const TensorSet good = Good();
  for (const auto& [json, key] : std::vector<std::pair<std::string, std::string>>{
           {R"({"n_layer": 7})", "n_layer"},
           {R"({"n_embd": 128})", "n_embd"},
           {R"({"inv_other_layer_ratio": 2})", "inv_other_layer_ratio"},
           {R"({"first_gold_layer": 3})", "first_gold_layer"},
           {R"({"kv_cache_compression_ratio": 8})", "kv_cache_compression_ratio"},
           {R"({"head_size": 64})", "head_size"},
           {R"({"inv_other_layer_ratio": 0.5})", "inv_other_layer_ratio"},
           {R"({"use_v2": "yes"})", "use_v2"}}) {
    auto meta = JsonMetadata::Parse(json);
    REQUIRE(meta.ok());
    INFO(json);
    const std::string e = BindError(good, &*meta);
    INFO(e);
    CHECK(e.find(key) != std::string::npos);
  }
  // The reference config.json itself is consistent.
  const auto text = ReadFileBytes(DataPath("reference/goldfinch/config.json"));
  auto meta = JsonMetadata::Parse(std::string(text.begin(), text.end()));
  REQUIRE(meta.ok());
  TensorSet s = good;
  auto net = BindGoldfinch(s, &*meta);
  INFO(net.status().ToString());
  CHECK(net.ok());
}

TEST_CASE("GoldFinch loader: truncated checkpoints are errors, never crashes", "[unit]") {
  const auto& b = Bytes();
  for (size_t cut : {size_t(0), size_t(100), b.size() / 2, b.size() - 1}) {
    auto net = LoadNetworkFromTensorFile(ModelFormat::kTorch, b.data(), cut, "");
    CHECK_FALSE(net.ok());
  }
}
