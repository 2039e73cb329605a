// Mamba loading treats config.json, the checkpoint and GGUF files as hostile: a config that
// contradicts the tensors (d_inner, dt_rank, d_state), a missing or misshapen tensor, bad or
// unsupported keys are clear errors naming the problem, never a crash (run under ASan in CI).
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "models/mamba/mamba_gguf.h"
#include "models/mamba/mamba_model.h"
#include "models/mamba/mamba_random.h"
#include "platform/base/model_collector.h"
#include "runtime/formats/checkpoint/json_metadata.h"

using namespace floe;

namespace {

// The shape of the tensors every case binds against: d_model 32, d_inner 64, d_state 8,
// dt_rank 2, d_conv 4, 2 layers, vocab 40.
constexpr const char* kGood =
    R"({"d_model": 32, "n_layer": 2, "vocab_size": 40, "ssm_cfg": {"d_state": 8, "d_conv": 4,
        "expand": 2, "dt_rank": 2}, "rms_norm": true, "residual_in_fp32": true,
        "pad_vocab_size_multiple": 8, "tie_embeddings": true})";

MambaConfig Small() {
  MambaConfig c;
  c.vocab_size = 40;
  c.d_model = 32;
  c.n_layer = 2;
  c.d_inner = 64;
  c.d_state = 8;
  c.d_conv = 4;
  c.dt_rank = 2;
  return c;
}

const RandomMamba& Random() {
  static const std::unique_ptr<RandomMamba> r = [] {
    auto m = MakeRandomMamba(Small(), 1);
    REQUIRE(m.ok());
    return std::move(m).value();
  }();
  return *r;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// The status of reading `json` and binding the random tensors with it.
Status Bind(const std::string& json, const TensorSet* tensors = nullptr) {
  auto meta = JsonMetadata::Parse(json);
  if (!meta.ok()) return meta.status();
  auto c = MambaConfigFromHfConfig(*meta);
  if (!c.ok()) return c.status();
  auto net = BindMamba(*c, tensors ? *tensors : Random().tensors, MambaAForm::kALog);
  return net.ok() ? Status::Ok() : net.status();
}

bool Mentions(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("Mamba: config.json contradicting the tensors names the tensor", "[unit]") {
  REQUIRE(Bind(kGood).ok());
  struct Case {
    std::string from, to, tensor, expect;
  };
  const std::vector<Case> cases = {
      {"\"expand\": 2", "\"expand\": 3", "backbone.layers.0.mixer.in_proj.weight", "d_inner 96"},
      {"\"dt_rank\": 2", "\"dt_rank\": 3", "backbone.layers.0.mixer.x_proj.weight", "dt_rank 3"},
      {"\"d_state\": 8", "\"d_state\": 16", "backbone.layers.0.mixer.x_proj.weight", "d_state 16"},
      {"\"d_conv\": 4", "\"d_conv\": 3", "backbone.layers.0.mixer.conv1d.weight", "d_conv 3"},
      {"\"d_model\": 32", "\"d_model\": 48", "backbone.embedding.weight", "d_model 48"},
      {"\"vocab_size\": 40", "\"vocab_size\": 41", "backbone.embedding.weight", "vocab_size 48"},
      {"\"n_layer\": 2", "\"n_layer\": 1", "backbone.layers.1.mixer.A_log", "n_layer = 1"},
      {"\"n_layer\": 2", "\"n_layer\": 3", "backbone.layers.2.norm.weight", "missing"},
  };
  for (const Case& k : cases) {
    const Status s = Bind(Replace(kGood, k.from, k.to));
    INFO(k.to << ": " << s.ToString());
    REQUIRE_FALSE(s.ok());
    CHECK(Mentions(s, k.tensor));
    CHECK(Mentions(s, k.expect));
  }
  // x_proj's rows agree (dt_rank + 2 d_state = 18) but dt_proj's columns do not.
  const Status s = Bind(Replace(Replace(kGood, "\"d_state\": 8", "\"d_state\": 7"),
                                "\"dt_rank\": 2", "\"dt_rank\": 4"));
  REQUIRE_FALSE(s.ok());
  CHECK(Mentions(s, "backbone.layers.0.mixer.dt_proj.weight"));
  CHECK(Mentions(s, "dt_rank 4"));
  // A_log of another d_state (same byte count).
  TensorSet set = Random().tensors;
  for (auto& t : set.tensors)
    if (t.name == "backbone.layers.1.mixer.A_log") t.shape = {128, 4};
  const Status a = Bind(kGood, &set);
  CHECK(Mentions(a, "backbone.layers.1.mixer.A_log"));
  CHECK(Mentions(a, "d_state 8"));
}

TEST_CASE("Mamba: bad and unsupported config.json keys are named", "[unit]") {
  struct Case {
    std::string from, to, expect;
    StatusCode code;
  };
  const std::vector<Case> cases = {
      {"\"rms_norm\": true", "\"rms_norm\": false", "rms_norm", StatusCode::kUnsupported},
      {"\"d_model\": 32", "\"d_model\": -1", "'d_model' must be a positive integer",
       StatusCode::kInvalidArgument},
      {"\"d_model\": 32", "\"d_model\": \"32\"", "d_model", StatusCode::kInvalidArgument},
      {"\"d_model\": 32", "\"d_model\": 40000000", "d_model", StatusCode::kInvalidArgument},
      {"\"d_state\": 8", "\"d_state\": 0", "ssm_cfg.d_state", StatusCode::kInvalidArgument},
      {"\"d_state\": 8", "\"d_state\": 100000", "ssm_cfg.d_state", StatusCode::kInvalidArgument},
      {"\"dt_rank\": 2", "\"dt_rank\": \"big\"", "ssm_cfg.dt_rank", StatusCode::kInvalidArgument},
      {"\"dt_rank\": 2", "\"dt_rank\": 1000", "dt_rank", StatusCode::kInvalidArgument},
      {"\"expand\": 2", "\"expand\": 0", "ssm_cfg.expand", StatusCode::kInvalidArgument},
      {"\"n_layer\": 2", "\"n_layer\": 100000", "n_layer", StatusCode::kInvalidArgument},
      {"\"tie_embeddings\": true", "\"tie_embeddings\": \"no\"", "tie_embeddings",
       StatusCode::kInvalidArgument},
      {"\"expand\": 2", "\"expand\": 2, \"layer\": \"Mamba2\"", "ssm_cfg.layer",
       StatusCode::kUnsupported},
      {"\"expand\": 2", "\"expand\": 2, \"bias\": true", "ssm_cfg.bias", StatusCode::kUnsupported},
      {"\"rms_norm\": true", "\"rms_norm\": true, \"d_intermediate\": 128", "d_intermediate",
       StatusCode::kUnsupported},
      {"\"rms_norm\": true", "\"rms_norm\": true, \"attn_layer_idx\": [1]", "attn_layer_idx",
       StatusCode::kUnsupported},
      {"\"n_layer\": 2, ", "", "missing required key 'n_layer'", StatusCode::kInvalidArgument},
  };
  for (const Case& k : cases) {
    const Status s = Bind(Replace(kGood, k.from, k.to));
    INFO(k.to << ": " << s.ToString());
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == k.code);
    CHECK(Mentions(s, k.expect));
  }
  CHECK_FALSE(Bind(std::string(kGood).substr(0, 40)).ok());
}

TEST_CASE("Mamba: missing and misshapen checkpoint tensors are named", "[unit]") {
  for (const char* name :
       {"backbone.embedding.weight", "backbone.norm_f.weight", "backbone.layers.1.mixer.D",
        "backbone.layers.0.mixer.dt_proj.bias", "backbone.layers.1.mixer.conv1d.bias",
        "backbone.layers.0.mixer.out_proj.weight"}) {
    TensorSet set = Random().tensors;
    std::erase_if(set.tensors, [&](const NamedTensor& t) { return t.name == name; });
    set.Index();
    const Status s = Bind(kGood, &set);
    INFO(name << ": " << s.ToString());
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == StatusCode::kNotFound);
    CHECK(Mentions(s, name));
  }
  // Untied: lm_head.weight is required.
  const Status untied =
      Bind(Replace(kGood, "\"tie_embeddings\": true", "\"tie_embeddings\": false"));
  CHECK(Mentions(untied, "lm_head.weight"));
  // A shape that keeps the byte count but not the layout.
  TensorSet set = Random().tensors;
  for (auto& t : set.tensors)
    if (t.name == "backbone.layers.1.mixer.dt_proj.weight") t.shape = {2, 64};
  const Status s = Bind(kGood, &set);
  CHECK(Mentions(s, "backbone.layers.1.mixer.dt_proj.weight"));
  CHECK(Mentions(s, "expected (64, 2)"));
}

TEST_CASE("Mamba GGUF: wrong shapes, missing tensors and bad keys are clear errors", "[unit]") {
  auto net = BindMamba(Small(), Random().tensors, MambaAForm::kALog);
  REQUIRE(net.ok());
  ModelCollector out("GGUF");
  REQUIRE(WriteMambaGguf(Small(), net->weights, out).ok());
  const TensorSet& good = out.tensors();
  REQUIRE(MambaFromGguf(out.metadata(), good).ok());
  {
    TensorSet set = good;
    for (auto& t : set.tensors)
      if (t.name == "blk.1.ssm_a") t.shape = {8, 64};
    set.Index();
    auto r = MambaFromGguf(out.metadata(), set);
    INFO(r.status().ToString());
    REQUIRE_FALSE(r.ok());
    CHECK(Mentions(r.status(), "'blk.1.ssm_a'"));
    CHECK(Mentions(r.status(), "expected (64, 8)"));
  }
  {
    TensorSet set = good;
    std::erase_if(set.tensors, [](const NamedTensor& t) { return t.name == "blk.0.ssm_x.weight"; });
    set.Index();
    auto r = MambaFromGguf(out.metadata(), set);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == StatusCode::kNotFound);
    CHECK(Mentions(r.status(), "'blk.0.ssm_x.weight'"));
  }
  {
    TensorSet set = good;
    std::erase_if(set.tensors, [](const NamedTensor& t) { return t.name == "token_embd.weight"; });
    set.Index();
    auto r = MambaFromGguf(out.metadata(), set);
    INFO(r.status().ToString());
    REQUIRE_FALSE(r.ok());
    CHECK(Mentions(r.status(), "token_embd.weight"));
  }
  struct KeyCase {
    const char* key;
    int64_t value;
    const char* expect;
  };
  for (const KeyCase& k : {KeyCase{"mamba.ssm.state_size", 16, "'blk.0.ssm_x.weight'"},
                           KeyCase{"mamba.ssm.inner_size", 96, "'blk.0.ssm_in.weight'"},
                           KeyCase{"mamba.ssm.time_step_rank", 3, "'blk.0.ssm_x.weight'"},
                           KeyCase{"mamba.ssm.conv_kernel", 0, "conv_kernel"},
                           KeyCase{"mamba.block_count", 9000, "n_layer"}}) {
    MetadataMap meta = out.metadata();
    meta.Set(k.key, k.value);
    auto r = MambaFromGguf(meta, good);
    INFO(k.key << " = " << k.value << ": " << r.status().ToString());
    REQUIRE_FALSE(r.ok());
    CHECK(Mentions(r.status(), k.expect));
  }
  MetadataMap falcon = out.metadata();
  falcon.Set("mamba.ssm.dt_b_c_rms", true);
  CHECK(MambaFromGguf(falcon, good).status().code() == StatusCode::kUnsupported);
  // A quantized vector is refused, not misread.
  TensorSet set = good;
  for (auto& t : set.tensors)
    if (t.name == "blk.0.ssm_d") t.dtype = DType::kQ8_0;
  CHECK(Mentions(MambaFromGguf(out.metadata(), set).status(), "blk.0.ssm_d"));
}
