// End-to-end: the trained llama2.c model stories260K, byte-exact against llama2.c's published
// greedy output, from the llama2.c checkpoint and from the GGUF that `floe convert` makes.
#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "llama_reference_forward.h"
#include "runtime/formats/gguf/gguf_reader.h"
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

TEST_CASE("f16 KV cache: every row within the f16 rounding effect an independent reference sees",
          "[model]") {
  // Storing a key (after RoPE) or value as binary16 rounds it to 11 significant bits: relative
  // error <= 2^-11 per element. What that does to the logits is computed by the independent
  // reference (llama_reference_forward.h, double accumulation) storing f16 keys/values, against
  // the same reference storing them exactly: effect_r = max_v |ref16 - ref64| in row r.
  // floe rounds its own float32 K/V, which differ from the reference's by float32 rounding (a
  // few ulps), so an element within that distance of a binary16 rounding midpoint rounds the
  // other way; on this model such flips alone move a logit by up to ~2/3 of the whole effect.
  // So effect_r is taken over three admissible roundings (of x and of x (1 +- 2^-22), i.e. x two
  // float32 ulps away), and floe's f16 rows must stay within the ball those roundings span:
  //   |floe16 - ref64| <= 2 effect_r + e32 in every row r (two roundings of the same elements
  //   differ by at most the sum of their two errors), e32 = 1e-4 max(1, |logit|max) the float32
  //   arithmetic bound of llama_reference_test, which floe's f32 cache meets here too.
  // A cache that kept fewer bits (bf16: 8) or rounded the wrong way would land outside.
  const std::string gguf = TempPath("stories260K-f16kv.gguf");
  ConvertLlama2cOptions o;
  o.checkpoint_path = DataPath("models/llama2c/stories260K.bin");
  o.tokenizer_path = DataPath("models/llama2c/tok512.bin");
  o.output_path = gguf;
  REQUIRE(ConvertLlama2cToGguf(o).ok());
  auto file = GgufFile::Open(gguf);
  REQUIRE(file.ok());
  auto model = LoadOrFail(gguf);
  const std::string text = ReadFile(DataPath("corpora/tinystories-valid-head.txt")).substr(0, 800);
  auto ids = model->tokenizer()->Encode(text, true);
  REQUIRE(ids.size() > 160);
  ids.resize(160);
  using floe::testing::F16KvD;
  using floe::testing::ReferenceForward;
  const auto ref64 = ReferenceForward(*file, ids);
  std::vector<std::vector<float>> ref16;
  for (double nudge : {0.0, 0x1p-22, -0x1p-22}) ref16.push_back(ReferenceForward(*file, ids, {}, F16KvD{nudge}));
  std::filesystem::remove(gguf);
  const size_t V = model->lm().vocab_size(), T = ids.size();
  REQUIRE(ref64.size() == T * V);
  auto row_diff = [&](const std::vector<float>& a, const std::vector<float>& b, size_t r) {
    double m = 0;
    for (size_t v = 0; v < V; ++v) m = std::max(m, double(std::fabs(a[r * V + v] - b[r * V + v])));
    return m;
  };
  double scale = 0;
  for (float v : ref64) scale = std::max(scale, double(std::fabs(v)));
  const double e32 = 1e-4 * std::max(1.0, scale);
  std::vector<double> effect(T, 0.0);
  double largest_effect = 0;
  for (size_t r = 0; r < T; ++r) {
    for (const auto& rounding : ref16) effect[r] = std::max(effect[r], row_diff(rounding, ref64, r));
    largest_effect = std::max(largest_effect, effect[r]);
  }
  REQUIRE(largest_effect > 10 * e32);  // the rounding is visible above float32 arithmetic
  for (size_t batch : {size_t(64), size_t(1)}) {
    SessionParams p32, p16;
    p32.batch = p16.batch = batch;
    p16.kv_dtype = DType::kF16;
    auto a = Session::Create(*model, p32);
    auto b = Session::Create(*model, p16);
    REQUIRE((a.ok() && b.ok()));
    REQUIRE((*a)->Eval(ids, true).ok());
    REQUIRE((*b)->Eval(ids, true).ok());
    const auto& floe32 = (*a)->all_logits();
    const auto& floe16 = (*b)->all_logits();
    size_t outside = 0, changed = 0;
    double worst_ratio = 0, max32 = 0;
    for (size_t r = 0; r < T; ++r) {
      const double d16 = row_diff(floe16, ref64, r);
      max32 = std::max(max32, row_diff(floe32, ref64, r));
      outside += d16 > 2 * effect[r] + e32;
      changed += row_diff(floe16, floe32, r) > 0;
      worst_ratio = std::max(worst_ratio, (d16 - e32) / std::max(effect[r], 1e-30));
    }
    INFO("batch " << batch << ", " << T << " rows, logits up to " << scale << "; largest f16 effect "
                  << largest_effect << "; max|floe32 - ref64| " << max32
                  << "; worst (|floe16 - ref64| - e32) / effect " << worst_ratio);
    CHECK(max32 <= e32);
    CHECK(outside == 0);
    CHECK(changed > T / 2);  // the f16 cache is in use
  }
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
