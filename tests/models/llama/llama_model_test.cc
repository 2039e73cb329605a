// End-to-end: the trained llama2.c model stories260K, byte-exact against llama2.c's published
// greedy output, from the llama2.c checkpoint and from the GGUF that `floe convert` makes.
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/tools/convert_llama2c.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"
#include "temp_files.h"
#include "test_data.h"

using namespace floe;
using floe::testing::DataPath;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<Model> LoadOrFail(const std::string& path, const std::string& tokenizer = "") {
  LoadOptions o;
  o.tokenizer_path = tokenizer;
  auto m = Model::Load(path, o);
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  return std::move(m).value();
}

// llama2.c `run model -z tok -t 0 -n 200`: greedy from BOS, 200 steps.
std::string GreedyText(const Model& model, size_t steps, SessionParams params = {}) {
  auto session = Session::Create(model, params);
  REQUIRE(session.ok());
  SamplerParams sp;
  sp.temperature = 0;
  Sampler sampler(sp);
  std::string text;
  const std::vector<int32_t> bos = {model.tokenizer()->bos()};
  auto r = (*session)->Generate(bos, steps, sampler, [&](int32_t, std::string_view t) {
    text += t;
    return true;
  });
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return text;
}

std::string TempPath(const std::string& stem) {
  return testing::TempPath("llama_model_test", stem);
}

}  // namespace

TEST_CASE("stories260K greedy output matches llama2.c byte for byte", "[model]") {
  auto model =
      LoadOrFail(DataPath("models/llama2c/stories260K.bin"), DataPath("models/llama2c/tok512.bin"));
  const std::string expected = ReadFile(DataPath("golden/stories260K_greedy_n200.txt"));
  REQUIRE(expected.size() > 100);
  CHECK(GreedyText(*model, 200) == expected);
  SECTION("single-threaded gives the same text") {
    SessionParams p;
    p.threads = 1;
    CHECK(GreedyText(*model, 200, p) == expected);
  }
}

TEST_CASE("the GGUF made by floe convert generates the same text and logits", "[model]") {
  const std::string gguf = TempPath("stories260K.gguf");
  ConvertLlama2cOptions o;
  o.checkpoint_path = DataPath("models/llama2c/stories260K.bin");
  o.tokenizer_path = DataPath("models/llama2c/tok512.bin");
  o.output_path = gguf;
  Status st = ConvertLlama2cToGguf(o);
  INFO(st.ToString());
  REQUIRE(st.ok());
  auto from_gguf = LoadOrFail(gguf);  // vocabulary comes from the GGUF itself
  auto from_bin = LoadOrFail(o.checkpoint_path, o.tokenizer_path);
  std::filesystem::remove(gguf);
  CHECK(GreedyText(*from_gguf, 200) == ReadFile(DataPath("golden/stories260K_greedy_n200.txt")));

  const std::string text = "Once upon a time, there was a little dog named Max.";
  const auto ids_bin = from_bin->tokenizer()->Encode(text, true);
  CHECK(from_gguf->tokenizer()->Encode(text, true) == ids_bin);
  auto s1 = Session::Create(*from_bin, {});
  auto s2 = Session::Create(*from_gguf, {});
  REQUIRE((s1.ok() && s2.ok()));
  REQUIRE((*s1)->Eval(ids_bin, true).ok());
  REQUIRE((*s2)->Eval(ids_bin, true).ok());
  CHECK((*s1)->all_logits() == (*s2)->all_logits());  // same weights, same kernels: identical
}

TEST_CASE("batched prefill equals token-by-token decode, bit for bit", "[model]") {
  auto model =
      LoadOrFail(DataPath("models/llama2c/stories260K.bin"), DataPath("models/llama2c/tok512.bin"));
  const std::string text = ReadFile(DataPath("corpora/tinystories-valid-head.txt")).substr(0, 1200);
  auto ids = model->tokenizer()->Encode(text, true);
  REQUIRE(ids.size() > 300);
  ids.resize(300);  // stories260K's context is 512 tokens
  const size_t V = model->lm().vocab_size();
  for (size_t batch : {size_t(7), size_t(64)}) {
    SessionParams p;
    p.batch = batch;
    auto batched = Session::Create(*model, p);
    auto single = Session::Create(*model, {});
    REQUIRE((batched.ok() && single.ok()));
    const Status st = (*batched)->Eval(ids, true);
    INFO(st.ToString());
    REQUIRE(st.ok());
    double max_diff = 0;
    for (size_t t = 0; t < ids.size(); ++t) {
      REQUIRE((*single)->Eval(std::span<const int32_t>(&ids[t], 1)).ok());
      for (size_t v = 0; v < V; ++v)
        max_diff = std::max(max_diff, double(std::fabs((*single)->logits()[v] -
                                                       (*batched)->all_logits()[t * V + v])));
    }
    INFO("batch " << batch << " max |diff| " << max_diff);
    // Matrix-matrix rows equal matrix-vector products and a token block's attention rows equal
    // one token's (ops.h, dense_attention.h): prefill reproduces decode bit for bit.
    CHECK(max_diff == 0.0);
  }
}

TEST_CASE("f16 KV cache stays close to f32", "[model]") {
  auto model =
      LoadOrFail(DataPath("models/llama2c/stories260K.bin"), DataPath("models/llama2c/tok512.bin"));
  const auto ids =
      model->tokenizer()->Encode("Lily and Ben went to the park to play with a ball.", true);
  SessionParams p16;
  p16.kv_dtype = DType::kF16;
  auto a = Session::Create(*model, {});
  auto b = Session::Create(*model, p16);
  REQUIRE((a.ok() && b.ok()));
  REQUIRE((*a)->Eval(ids).ok());
  REQUIRE((*b)->Eval(ids).ok());
  double max_diff = 0;
  for (size_t v = 0; v < model->lm().vocab_size(); ++v)
    max_diff = std::max(max_diff, double(std::fabs((*a)->logits()[v] - (*b)->logits()[v])));
  INFO("max |diff| " << max_diff);
  CHECK(max_diff < 0.05);
}

TEST_CASE("cancellation stops an eval and leaves the session usable", "[model]") {
  auto model =
      LoadOrFail(DataPath("models/llama2c/stories260K.bin"), DataPath("models/llama2c/tok512.bin"));
  const auto ids = model->tokenizer()->Encode("One day a cat sat on a mat.", true);
  REQUIRE(ids.size() > 8);
  // A cancel requested while the eval runs (from the progress report of the first 4-token
  // chunk) stops it at the next chunk's first layer boundary: that chunk is dropped.
  SessionParams p;
  p.batch = 4;
  Session* running = nullptr;
  size_t reports = 0;
  p.progress = [&](size_t, size_t) {
    if (++reports == 1) running->RequestCancel();
    return true;
  };
  auto c = Session::Create(*model, p);
  REQUIRE(c.ok());
  running = c->get();
  CHECK((*c)->Eval(ids).code() == StatusCode::kCancelled);
  CHECK((*c)->position() == 4);
  CHECK(reports == 1);
  // Usable: the rest of the prompt gives the logits of an uninterrupted run.
  REQUIRE((*c)->Eval(std::span<const int32_t>(ids).subspan(4)).ok());
  SessionParams q;
  q.batch = 4;  // the same chunks: the same arithmetic
  auto s = Session::Create(*model, q);
  REQUIRE(s.ok());
  (*s)->RequestCancel();  // cleared at the start of Eval: must not cancel this one
  REQUIRE((*s)->Eval(ids).ok());
  CHECK((*s)->position() == ids.size());
  CHECK(std::vector<float>((*c)->logits().begin(), (*c)->logits().end()) ==
        std::vector<float>((*s)->logits().begin(), (*s)->logits().end()));
  // A context overflow is an error, not a crash, and the session stays usable.
  std::vector<int32_t> too_many((*s)->capacity(), 5);
  Status st = (*s)->Eval(too_many);
  CHECK(st.code() == StatusCode::kOutOfRange);
  CHECK((*s)->position() == ids.size());
  const int32_t bad[1] = {100000};
  CHECK((*s)->Eval(bad).code() == StatusCode::kOutOfRange);
  const int32_t good[1] = {5};
  CHECK((*s)->Eval(good).ok());
}
