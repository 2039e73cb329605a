// Checkpoint readers on the real reference checkpoints in ../shared/data/reference: names and
// shapes against each folder's config.json / README.txt, and the .pth / .bin files against their
// safetensors twins (which the READMEs state hold the same tensors, bit-exactly).
#include <cmath>
#include <cstring>
#include <set>

#include "runtime/formats/checkpoint/json.h"
#include "runtime/formats/checkpoint/json_metadata.h"
#include "runtime/formats/checkpoint/safetensors.h"
#include "runtime/formats/checkpoint/torch_checkpoint.h"
#include "checkpoint_test_util.h"
#include "test_data.h"

using namespace floe;
using floe::testing::Bytes;
using floe::testing::DataPath;
using floe::testing::ReadFileBytes;

namespace {

// The value of an ok Result (the test fails otherwise).
template <class T>
T Ok(Result<T> r) {
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::vector<uint64_t> Shape(const JsonValue& array) {
  std::vector<uint64_t> s;
  for (const JsonValue& d : array.items()) s.push_back(uint64_t(d.int_value()));
  return s;
}

std::vector<float> Floats(const NamedTensor& t) {
  REQUIRE(t.dtype == DType::kF32);
  std::vector<float> v(t.bytes / 4);
  std::memcpy(v.data(), t.data, t.bytes);
  return v;
}

JsonValue Config(const std::string& relative) {
  const Bytes text = ReadFileBytes(DataPath(relative));
  auto json = ParseJson(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()));
  INFO(json.status().ToString());
  REQUIRE(json.ok());
  return std::move(json).value();
}

// Every key of config.json's "checkpoint_keys" is present with the listed shape.
void CheckCheckpointKeys(const TensorSet& set, const JsonValue& config) {
  auto keys = config.Get("checkpoint_keys");
  REQUIRE(keys.ok());
  REQUIRE((*keys)->members().size() > 10);
  for (const auto& [name, shape] : (*keys)->members()) {
    INFO(name);
    const NamedTensor* t = set.Find(name);
    REQUIRE(t != nullptr);
    CHECK(t->shape == Shape(shape));
    CHECK(t->dtype == DType::kF32);
    CHECK(t->bytes == t->elements() * 4);
  }
}

// Both sets have the same names, dtypes, shapes and bytes.
void CheckSameTensors(const TensorSet& a, const TensorSet& b) {
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (const NamedTensor& t : a.tensors) {
    INFO(t.name);
    const NamedTensor* u = b.Find(t.name);
    REQUIRE(u != nullptr);
    CHECK(u->dtype == t.dtype);
    CHECK(u->shape == t.shape);
    REQUIRE(u->bytes == t.bytes);
    CHECK(std::memcmp(u->data, t.data, t.bytes) == 0);
  }
}

}  // namespace

TEST_CASE("rwkv6 model.pth: names and shapes as in config.json and README", "[unit]") {
  const Bytes file = ReadFileBytes(DataPath("reference/rwkv6/model.pth"));
  auto set = ReadTorchCheckpoint(file.data(), file.size());
  INFO(set.status().ToString());
  REQUIRE(set.ok());
  const JsonValue config = Config("reference/rwkv6/config.json");
  CheckCheckpointKeys(*set, config);
  // README: n_layer 3; blocks.0 additionally has ln0 (2 tensors); 28 tensors per block otherwise,
  // plus emb, ln_out (2) and head.
  auto n_layer = config.GetInt("n_layer");
  REQUIRE(n_layer.ok());
  CHECK(*n_layer == 3);
  CHECK(set->tensors.size() == size_t(4 + 2 + 28 * *n_layer));
  for (int64_t l = 1; l < *n_layer; ++l) {
    const std::string p = "blocks." + std::to_string(l) + ".";
    CHECK(set->Find(p + "ln0.weight") == nullptr);
    for (const auto& [name, shape] : Ok(config.Get("checkpoint_keys"))->members()) {
      if (!name.starts_with("blocks.0.") || name.starts_with("blocks.0.ln0")) continue;
      const NamedTensor* t = set->Find(p + name.substr(9));
      INFO(p + name.substr(9));
      REQUIRE(t != nullptr);
      CHECK(t->shape == Shape(shape));
    }
  }
  CHECK(set->Find("emb.weight")->shape == std::vector<uint64_t>{256, 64});
  CHECK(set->Find("head.weight")->shape == std::vector<uint64_t>{256, 64});
  // README: time_maa_w1 is 64 x (5 * LoRA rank 32), time_maa_w2 is 5 x 32 x 64.
  CHECK(set->Find("blocks.0.att.time_maa_w1")->shape == std::vector<uint64_t>{64, 160});
  CHECK(set->Find("blocks.0.att.time_maa_w2")->shape == std::vector<uint64_t>{5, 32, 64});

  // README: emb.weight ~ U(-1, 1); LayerNorm weights 1 + N(0, 0.1^2).
  const auto emb = Floats(*set->Find("emb.weight"));
  float lo = 0, hi = 0;
  for (float x : emb) lo = std::min(lo, x), hi = std::max(hi, x);
  CHECK(lo >= -1.0f);
  CHECK(hi <= 1.0f);
  CHECK(hi - lo > 1.9f);
  double mean = 0;
  for (float x : Floats(*set->Find("blocks.1.ln1.weight"))) mean += x / 64.0;
  CHECK(std::fabs(mean - 1.0) < 0.1);
}

TEST_CASE("goldfinch model.pth: names and shapes as in config.json", "[unit]") {
  const Bytes file = ReadFileBytes(DataPath("reference/goldfinch/model.pth"));
  auto set = ReadTorchCheckpoint(file.data(), file.size());
  INFO(set.status().ToString());
  REQUIRE(set.ok());
  CheckCheckpointKeys(*set, Config("reference/goldfinch/config.json"));
  std::set<std::string> names;
  for (const NamedTensor& t : set->tensors) names.insert(t.name);
  CHECK(names.size() == set->tensors.size());
  CHECK(set->tensors.size() > 100);  // 6 layers of ~30 tensors
}

TEST_CASE("transnormer pytorch_model.bin and model.safetensors hold the same tensors", "[unit]") {
  const Bytes bin = ReadFileBytes(DataPath("reference/transnormer/pytorch_model.bin"));
  const Bytes st = ReadFileBytes(DataPath("reference/transnormer/model.safetensors"));
  auto a = ReadTorchCheckpoint(bin.data(), bin.size());
  auto b = ReadSafetensors(st.data(), st.size());
  INFO(a.status().ToString() << " / " << b.status().ToString());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CheckSameTensors(*a, *b);
  // README: embedding + per layer {out_proj, qkvu_proj, l1, l2, l3} + lrpe.theta in layer 0 only
  // (linear_use_lrpe_list [1, 0, 0]) + lm_head.
  const JsonValue config = Config("reference/transnormer/config.json");
  const int64_t layers = Ok(config.GetInt("decoder_layers"));
  const int64_t vocab = Ok(config.GetInt("vocab_size"));
  const int64_t dim = Ok(config.GetInt("decoder_embed_dim"));
  const int64_t heads = Ok(config.GetInt("decoder_attention_heads"));
  CHECK(a->tensors.size() == size_t(2 + 5 * layers + 1));
  CHECK(a->Find("model.embed_tokens.weight")->shape ==
        std::vector<uint64_t>{uint64_t(vocab), uint64_t(dim)});
  CHECK(a->Find("lm_head.weight")->shape == std::vector<uint64_t>{uint64_t(vocab), uint64_t(dim)});
  CHECK(a->Find("model.layers.1.token_mixer.lrpe.theta") == nullptr);

  // README: theta = 10000^(-2/d * arange(d)) reshaped to (heads, 1, head_dim), d = embed dim.
  const NamedTensor* theta = a->Find("model.layers.0.token_mixer.lrpe.theta");
  REQUIRE(theta != nullptr);
  CHECK(theta->shape == std::vector<uint64_t>{uint64_t(heads), 1, uint64_t(dim / heads)});
  const auto values = Floats(*theta);
  REQUIRE(values.size() == size_t(dim));
  for (int64_t i = 0; i < dim; ++i) {
    const double want = std::pow(10000.0, -2.0 / double(dim) * double(i));
    CHECK(std::fabs(values[size_t(i)] - want) <= 1e-6 * want);
  }
  // README: embedding row 0 (padding_idx) is zeroed; the rest is N(0, 0.1^2).
  const auto emb = Floats(*a->Find("model.embed_tokens.weight"));
  for (int64_t j = 0; j < dim; ++j) CHECK(emb[size_t(j)] == 0.0f);
  CHECK(emb[size_t(dim)] != 0.0f);
}

TEST_CASE("mamba1 model.pth and model.safetensors hold the same tensors", "[unit]") {
  const Bytes pth = ReadFileBytes(DataPath("reference/mamba1/model.pth"));
  const Bytes st = ReadFileBytes(DataPath("reference/mamba1/model.safetensors"));
  auto a = ReadTorchCheckpoint(pth.data(), pth.size());
  auto b = ReadSafetensors(st.data(), st.size());
  INFO(a.status().ToString() << " / " << b.status().ToString());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CheckSameTensors(*a, *b);
  // README: 4 layers x {norm, in_proj, conv1d w/b, x_proj, dt_proj w/b, A_log, D, out_proj}
  // + embedding + norm_f + lm_head; d_inner 128, d_state 16, d_conv 4, dt_rank 4; vocab padded to
  // 256.
  CHECK(a->tensors.size() == 4 * 10 + 3);
  CHECK(a->Find("backbone.embedding.weight")->shape == std::vector<uint64_t>{256, 64});
  CHECK(a->Find("backbone.layers.3.mixer.conv1d.weight")->shape ==
        std::vector<uint64_t>{128, 1, 4});
  CHECK(a->Find("backbone.layers.0.mixer.x_proj.weight")->shape ==
        std::vector<uint64_t>{4 + 2 * 16, 128});
  CHECK(a->Find("backbone.layers.0.mixer.A_log")->shape == std::vector<uint64_t>{128, 16});
  // Tied head: the .pth shares the embedding's storage; the safetensors file has a copy.
  CHECK(a->Find("lm_head.weight")->data == a->Find("backbone.embedding.weight")->data);
  CHECK(b->Find("lm_head.weight")->data != b->Find("backbone.embedding.weight")->data);
  // README: A_log = log(1..d_state) + N(0, 0.1^2).
  const auto a_log = Floats(*a->Find("backbone.layers.2.mixer.A_log"));
  double worst = 0;
  for (size_t r = 0; r < 128; ++r)
    for (size_t j = 0; j < 16; ++j)
      worst = std::max(worst, std::fabs(a_log[r * 16 + j] - std::log(double(j + 1))));
  CHECK(worst < 0.6);  // ~6 sigma
}

TEST_CASE("block_transformer model.safetensors reads", "[unit]") {
  const Bytes st = ReadFileBytes(DataPath("reference/block_transformer/model.safetensors"));
  auto set = ReadSafetensors(st.data(), st.size());
  INFO(set.status().ToString());
  REQUIRE(set.ok());
  CHECK(set->tensors.size() > 20);
  const NamedTensor* emb = set->Find("block_decoder.gpt_neox.embed_in.weight");
  REQUIRE(emb != nullptr);
  CHECK(emb->shape == std::vector<uint64_t>{512, 64});
}

TEST_CASE("reference config.json files parse with the documented values", "[unit]") {
  for (const char* f : {"reference/rwkv6/config.json", "reference/goldfinch/config.json",
                        "reference/mamba1/config.json", "reference/transnormer/config.json",
                        "reference/transnormer/generation_config.json",
                        "reference/block_transformer/config.json"}) {
    INFO(f);
    CHECK(Config(f).is_object());
  }
  const JsonValue rwkv = Config("reference/rwkv6/config.json");
  CHECK(Ok(rwkv.GetInt("n_embd")) == 64);
  CHECK(Ok(rwkv.GetNumber("layernorm_eps")) == 1e-05);
  CHECK(Ok(rwkv.GetNumber("ln_x_eps")) == 0.00064);
  CHECK(Ok(rwkv.GetBool("ln0_on_embedding")) == true);
  CHECK(Ok(rwkv.GetString("dtype")) == "float32");
  const JsonValue mamba = Config("reference/mamba1/config.json");
  CHECK(Ok(Ok(mamba.Get("ssm_cfg"))->GetInt("d_state")) == 16);
  CHECK(Ok(mamba.Get("attn_layer_idx"))->items().empty());
  const JsonValue tn = Config("reference/transnormer/config.json");
  const JsonValue* lrpe = Ok(tn.Get("linear_use_lrpe_list"));
  REQUIRE(lrpe->items().size() == 3);
  CHECK(lrpe->items()[0].int_value() == 1);
  CHECK(Ok(tn.GetNumber("init_std")) == 0.1);
  CHECK(Ok(Ok(tn.Get("architectures"))->items()[0].AsString()) == "TransnormerForCausalLM");
  // Wrong-type and missing lookups name the key.
  auto bad = tn.GetInt("model_type");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("model_type") != std::string::npos);
  CHECK(tn.GetInt("no_such_key").status().code() == StatusCode::kNotFound);
}

// docs/allocation-audit.md item 9: the JSON of a safetensors header and of a config stops at a
// value count sized for such documents, well below the parser's tokenizer-sized default.
TEST_CASE("safetensors headers and configs are cut at their own JSON value limits", "[unit]") {
  auto array_of = [](size_t n) {
    std::string s = "[";
    for (size_t i = 0; i < n; ++i) s += i ? ",0" : "0";
    return s + "]";
  };
  auto safetensors = [&](size_t n) {
    const std::string header = "{\"__metadata__\": {}, \"x\": " + array_of(n) + "}";
    std::vector<uint8_t> file(8 + header.size());
    const uint64_t len = header.size();
    std::memcpy(file.data(), &len, 8);
    std::memcpy(file.data() + 8, header.data(), header.size());
    return ReadSafetensors(file.data(), file.size()).status();
  };
  // Under the limit the header parses (and is then refused for what it holds, not its size).
  CHECK(safetensors(1000).message().find("values") == std::string::npos);
  const Status big = safetensors(kMaxSafetensorsHeaderValues + 10);
  CHECK_FALSE(big.ok());
  CHECK(big.message().find("more than " + std::to_string(kMaxSafetensorsHeaderValues) +
                           " values") != std::string::npos);
  // The parser's default still takes a document that size (tokenizer JSON).
  CHECK(ParseJson(array_of(kMaxSafetensorsHeaderValues + 10)).ok());
  const std::string config = "{\"n\": " + array_of(kMaxConfigJsonValues + 10) + "}";
  const auto parsed = JsonMetadata::Parse(config, "config.json");
  CHECK_FALSE(parsed.ok());
  CHECK(parsed.status().message().find("more than " + std::to_string(kMaxConfigJsonValues)) !=
        std::string::npos);
  CHECK(JsonMetadata::Parse("{\"n\": " + array_of(1000) + "}", "config.json").ok());
}
