// TransNormerLLM loading treats config.json and the checkpoint as hostile: a missing or
// misshapen tensor, an inconsistent or unsupported config, a missing or damaged config.json are
// clear errors naming the problem, never a crash.
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <catch2/catch.hpp>

#include "models/transnormer/transnormer_model.h"
#include "models/transnormer/transnormer_random.h"
#include "runtime/engine/model.h"
#include "hf_config_util.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;
using floe::testing::TransnormerConfigFromJson;

namespace {

TransnormerConfig Small() {
  TransnormerConfig c;
  c.vocab_size = 100;
  c.embed_dim = 32;
  c.hidden_dim = 32;
  c.n_heads = 4;
  c.n_layers = 2;
  c.glu_dim = 48;
  c.lrpe = {true, false};
  c.tie_word_embeddings = false;
  return c;
}

// The status of parsing `json`, or of binding a random model of Small() shape with that config.
Status ConfigStatus(const std::string& json) {
  auto c = TransnormerConfigFromJson(json);
  if (!c.ok()) return c.status();
  auto r = MakeRandomTransnormer(Small(), 1);
  REQUIRE(r.ok());
  auto net = BindTransnormer(*c, (*r)->tensors);
  return net.ok() ? Status::Ok() : net.status();
}

// The reference config.json text with each key's value replaced (values are raw JSON).
std::string ReferenceConfigWith(const std::vector<std::pair<std::string, std::string>>& changes) {
  std::ifstream f(DataPath("reference/transnormer/config.json"));
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  for (const auto& [key, value] : changes) {
    const std::string quoted = "\"" + key + "\": ";
    const size_t at = text.find(quoted);
    REQUIRE(at != std::string::npos);
    const size_t start = at + quoted.size();
    const size_t end =
        text[start] == '[' ? text.find(']', start) + 1 : text.find_first_of(",\n}", start);
    text = text.substr(0, start) + value + text.substr(end);
  }
  return text;
}

// A scratch directory holding a copy of the reference model.safetensors and `config` (not
// written when null) as config.json.
class TempModelDir {
 public:
  explicit TempModelDir(const char* config) {
    dir_ = std::filesystem::temp_directory_path() /
           ("floe_tnl_" + std::to_string(::getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    std::filesystem::copy_file(DataPath("reference/transnormer/model.safetensors"),
                               dir_ / "model.safetensors");
    if (config) std::ofstream(dir_ / "config.json") << config;
  }
  ~TempModelDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string model() const { return (dir_ / "model.safetensors").string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
};

Status LoadStatus(const TempModelDir& d) {
  auto m = Model::Load(d.model());
  return m.ok() ? Status::Ok() : m.status();
}

bool Mentions(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("TransNormerLLM: missing and misshapen tensors are named", "[unit]") {
  const TransnormerConfig c = Small();
  auto r = MakeRandomTransnormer(c, 1);
  REQUIRE(r.ok());
  REQUIRE(BindTransnormer(c, (*r)->tensors).ok());
  for (const char* name : {"model.embed_tokens.weight", "model.layers.1.channel_mixer.l3.weight",
                           "model.layers.0.token_mixer.lrpe.theta", "lm_head.weight"}) {
    TensorSet set = (*r)->tensors;
    std::erase_if(set.tensors, [&](const NamedTensor& t) { return t.name == name; });
    auto net = BindTransnormer(c, set);
    INFO(name);
    REQUIRE_FALSE(net.ok());
    CHECK(net.status().code() == StatusCode::kNotFound);
    CHECK(Mentions(net.status(), name));
  }
  {
    TensorSet set = (*r)->tensors;
    for (auto& t : set.tensors)
      if (t.name == "model.layers.1.token_mixer.qkvu_proj.weight")
        t.shape = {64, 64};  // bytes unchanged
    auto net = BindTransnormer(c, set);
    REQUIRE_FALSE(net.ok());
    CHECK(Mentions(net.status(), "model.layers.1.token_mixer.qkvu_proj.weight"));
    CHECK(Mentions(net.status(), "(128, 32)"));
  }
  {
    TransnormerConfig no_lrpe = c;  // theta present on a layer the config says has no LRPE
    no_lrpe.lrpe = {false, false};
    auto net = BindTransnormer(no_lrpe, (*r)->tensors);
    REQUIRE_FALSE(net.ok());
    CHECK(Mentions(net.status(), "lrpe.theta"));
  }
  {
    TransnormerConfig tied = c;  // tied: lm_head.weight is not needed (and ignored)
    tied.tie_word_embeddings = true;
    CHECK(BindTransnormer(tied, (*r)->tensors).ok());
  }
}

TEST_CASE("TransNormerLLM: inconsistent or unsupported config.json is a clear error", "[unit]") {
  const std::string good = TransnormerConfigJson(Small());
  CHECK(ConfigStatus(good).ok());
  struct Case {
    std::string key, value, expect;
    StatusCode code;
  };
  const std::vector<Case> cases = {
      {"decoder_attention_heads", "3", "does not divide hidden_dim", StatusCode::kInvalidArgument},
      {"linear_use_lrpe_list", "[1, 0, 0]", "linear_use_lrpe_list has 3 entries",
       StatusCode::kInvalidArgument},
      {"linear_use_lrpe_list", "[1, 2]", "linear_use_lrpe_list", StatusCode::kInvalidArgument},
      {"linear_act_fun", "\"gelu\"", "linear_act_fun 'gelu'", StatusCode::kUnsupported},
      {"norm_type", "\"layernorm\"", "norm_type 'layernorm'", StatusCode::kUnsupported},
      {"bias", "true", "bias", StatusCode::kUnsupported},
      {"decoder_layers", "1", "decoder_layers must be >= 2", StatusCode::kInvalidArgument},
      {"decoder_layers", "3", "linear_use_lrpe_list has 2 entries", StatusCode::kInvalidArgument},
      {"hidden_dim", "-4", "'hidden_dim' must be a positive integer", StatusCode::kInvalidArgument},
      {"vocab_size", "\"100\"", "'vocab_size' must be a positive integer",
       StatusCode::kInvalidArgument},
      {"decoder_embed_dim", "1e300", "decoder_embed_dim", StatusCode::kInvalidArgument},
      {"glu_dim", "4000000000", "implausibly large", StatusCode::kInvalidArgument},
      {"glu_dim", "64", "model.layers.0.channel_mixer.l1.weight", StatusCode::kInvalidArgument},
      {"hidden_dim", "64", "LRPE (layer 0) needs hidden_dim == decoder_embed_dim",
       StatusCode::kInvalidArgument},
      {"model_type", "\"llama\"", "model_type", StatusCode::kInvalidArgument},
      {"no_scale_embedding", "\"yes\"", "no_scale_embedding", StatusCode::kInvalidArgument},
  };
  for (const Case& k : cases) {
    const size_t at = good.find("\"" + k.key + "\": ");
    REQUIRE(at != std::string::npos);
    const size_t start = at + k.key.size() + 4;
    const size_t end =
        good[start] == '[' ? good.find(']', start) + 1 : good.find_first_of(",\n", start);
    const std::string json = good.substr(0, start) + k.value + good.substr(end);
    const Status s = ConfigStatus(json);
    INFO(k.key << " = " << k.value << ": " << s.ToString());
    REQUIRE_FALSE(s.ok());
    CHECK(s.code() == k.code);
    CHECK(Mentions(s, k.expect));
  }
  // Sizes a small file could claim to make every sequence allocate gigabytes of state.
  TransnormerConfig big = Small();
  big.embed_dim = big.hidden_dim = 4096;
  big.n_heads = 2;
  CHECK(Mentions(big.Validate(), "head size 2048 is implausibly large"));
  big.embed_dim = big.hidden_dim = 65536;
  big.n_heads = 64;
  big.n_layers = 8;
  big.lrpe.assign(8, false);
  CHECK(Mentions(big.Validate(), "recurrent state"));
  // A missing required key, malformed JSON, a non-object.
  std::string no_glu = good;
  no_glu.erase(no_glu.find("  \"glu_dim\""),
               no_glu.find('\n', no_glu.find("  \"glu_dim\"")) + 1 - no_glu.find("  \"glu_dim\""));
  CHECK(Mentions(ConfigStatus(no_glu), "missing required key 'glu_dim'"));
  CHECK(ConfigStatus(good.substr(0, good.size() / 2)).code() == StatusCode::kCorruptData);
  CHECK(ConfigStatus("[1, 2]").code() == StatusCode::kInvalidArgument);
  CHECK(ConfigStatus("").code() == StatusCode::kCorruptData);
  // glu_dim -1 means decoder_embed_dim; an empty linear_use_lrpe_list defers to linear_use_lrpe.
  auto c = TransnormerConfigFromJson(R"({"vocab_size": 10, "decoder_embed_dim": 8, "hidden_dim": 8,
      "decoder_attention_heads": 2, "decoder_layers": 3, "glu_dim": -1, "linear_use_lrpe_list": [],
      "linear_use_lrpe": 1})");
  REQUIRE(c.ok());
  CHECK(c->glu_dim == 8);
  CHECK(c->lrpe == std::vector<bool>{true, true, true});
  CHECK(c->tie_word_embeddings);  // PretrainedConfig's default
}

TEST_CASE("TransNormerLLM: config.json beside the checkpoint is required and checked", "[unit]") {
  {
    TempModelDir d(nullptr);
    const Status s = LoadStatus(d);
    INFO(s.ToString());
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK(Mentions(s, "config.json"));
    CHECK(Mentions(s, "model.safetensors"));  // the error names the file
  }
  {
    TempModelDir d(
        ReferenceConfigWith({{"decoder_layers", "2"}, {"linear_use_lrpe_list", "[1, 0]"}}).c_str());
    const Status s = LoadStatus(d);
    INFO(s.ToString());
    CHECK(Mentions(s, "model.layers.2.token_mixer.qkvu_proj.weight"));
  }
  {
    TempModelDir d(ReferenceConfigWith({{"linear_use_lrpe_list", "[0, 0, 0]"}}).c_str());
    CHECK(Mentions(LoadStatus(d), "model.layers.0.token_mixer.lrpe.theta"));
  }
  {
    TempModelDir d(ReferenceConfigWith({{"linear_use_lrpe_list", "[1, 1, 0]"}}).c_str());
    const Status s = LoadStatus(d);
    CHECK(s.code() == StatusCode::kNotFound);
    CHECK(Mentions(s, "model.layers.1.token_mixer.lrpe.theta"));
  }
  {
    TempModelDir d(ReferenceConfigWith({{"linear_act_fun", "\"exp\""}}).c_str());
    CHECK(LoadStatus(d).code() == StatusCode::kUnsupported);
  }
  {
    TempModelDir d("{\"vocab_size\": 512,");
    CHECK(LoadStatus(d).code() == StatusCode::kCorruptData);
  }
  {
    const std::string huge(size_t(1) << 21, ' ');
    TempModelDir d(huge.c_str());
    CHECK(Mentions(LoadStatus(d), "larger than 1 MiB"));
  }
  {
    std::ifstream f(DataPath("reference/transnormer/config.json"));
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    TempModelDir d(text.c_str());
    CHECK(LoadStatus(d).ok());
  }
  // RWKV-6 checkpoints load without a config.json (theirs sits in a folder without one or with
  // an unrelated one: the reference rwkv6 folder has its own config.json, which is ignored).
  auto rwkv = Model::Load(DataPath("reference/rwkv6/model.pth"));
  INFO(rwkv.status().ToString());
  CHECK(rwkv.ok());
}

TEST_CASE("TransNormerLLM: a truncated checkpoint beside a good config.json is an error",
          "[unit]") {
  const std::string path = DataPath("reference/transnormer/model.safetensors");
  std::ifstream f(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::ifstream cf(DataPath("reference/transnormer/config.json"));
  const std::string config((std::istreambuf_iterator<char>(cf)), std::istreambuf_iterator<char>());
  for (size_t cut : {size_t(9), size_t(100), bytes.size() / 2, bytes.size() - 1}) {
    INFO("cut at " << cut);
    auto net = LoadNetworkFromTensorFile(
        ModelFormat::kSafetensors, reinterpret_cast<const uint8_t*>(bytes.data()), cut, config);
    CHECK_FALSE(net.ok());
  }
  auto whole = LoadNetworkFromTensorFile(ModelFormat::kSafetensors,
                                         reinterpret_cast<const uint8_t*>(bytes.data()),
                                         bytes.size(), config);
  CHECK(whole.ok());
}

TEST_CASE("TransNormerLLM: a state out of proportion to the weights is refused",
          "[unit]") {
  // docs/allocation-audit.md item 5: within the config's absolute cap (2^28 floats), a model of
  // width 64 with 65536-wide attention (64 heads of 1024) describes a 1 GiB state per sequence
  // (two buffers of 2 layers x 65536 x 1024 floats) with 64 MiB of f16 weights. The state is
  // refused when a sequence is made, not zeroed.
  TransnormerConfig c;
  c.vocab_size = 4;
  c.embed_dim = 64;
  c.hidden_dim = 65536;
  c.n_heads = 64;
  c.n_layers = 2;
  c.glu_dim = 2;
  c.lrpe = {false, false};
  c.tie_word_embeddings = true;
  INFO(c.Validate().ToString());
  REQUIRE(c.Validate().ok());
  auto r = MakeRandomTransnormer(c, 1, DType::kF16);
  REQUIRE(r.ok());
  auto net = BindTransnormer(c, (*r)->tensors);
  REQUIRE(net.ok());
  auto lm = TransnormerModel::Create(std::move(net).value());
  REQUIRE(lm.ok());
  auto st = (*lm)->NewState(StateOptions{});
  REQUIRE_FALSE(st.ok());
  INFO(st.status().ToString());
  CHECK(Mentions(st.status(), "(1024 MiB per sequence) is out of proportion"));
  // The reference model (real proportions) still makes its sequences.
  auto real = Model::Load(DataPath("reference/transnormer/model.safetensors"));
  REQUIRE(real.ok());
  CHECK((*real)->lm().NewState(StateOptions{}).ok());
}
