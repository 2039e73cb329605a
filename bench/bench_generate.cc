// First benchmark: prefill and decode tokens/s for a model, median (min..max) of repeated runs.
// Baseline in the same run: prefill one token at a time (what decode-style evaluation of a
// prompt would cost), so the batched-prefill speed-up is reported as a ratio.
//
// usage: bench_generate -m MODEL [-z TOKENIZER] [-p PROMPT_TOKENS] [-n GEN_TOKENS] [-r REPEATS]
//                       [-t THREADS] [--kv f32|f16]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "platform/base/cpu_features.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

using namespace floe;
using namespace floe::bench;

int main(int argc, char** argv) {
  const std::string model_path = Arg(argc, argv, "-m", "");
  if (model_path.empty()) {
    std::fprintf(
        stderr,
        "usage: bench_generate -m MODEL [-z TOK] [-p 128] [-n 64] [-r 5] [-t 0] [--kv f32]\n");
    return 2;
  }
  const size_t n_prompt = std::strtoul(Arg(argc, argv, "-p", "128"), nullptr, 10);
  const size_t n_gen = std::strtoul(Arg(argc, argv, "-n", "64"), nullptr, 10);
  const int repeats = std::max(1, std::atoi(Arg(argc, argv, "-r", "5")));
  SessionParams params;
  params.threads = std::atoi(Arg(argc, argv, "-t", "0"));
  params.kv_dtype =
      std::string(Arg(argc, argv, "--kv", "f32")) == "f16" ? DType::kF16 : DType::kF32;
  LoadOptions lo;
  lo.tokenizer_path = Arg(argc, argv, "-z", "");
  auto model = Model::Load(model_path, lo);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    return 1;
  }
  const size_t ctx = (*model)->lm().context_length();
  if (n_prompt == 0 || n_prompt + n_gen > ctx) {
    std::fprintf(stderr, "prompt + generated tokens must be in 1..%zu\n", ctx);
    return 2;
  }
  // Deterministic prompt of valid ids (content does not matter for speed).
  std::vector<int32_t> prompt(n_prompt);
  for (size_t i = 0; i < n_prompt; ++i)
    prompt[i] = int32_t(3 + (i * 7919) % ((*model)->lm().vocab_size() - 3));

  std::vector<double> prefill, prefill_serial, decode;
  for (int r = 0; r < repeats; ++r) {
    auto s = Session::Create(**model, params);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
      return 1;
    }
    auto t0 = std::chrono::steady_clock::now();
    if (!(*s)->Eval(prompt).ok()) return 1;
    prefill.push_back(double(n_prompt) / Seconds(t0));
    // Decode: greedy continuation, one token per step.
    SamplerParams sp;
    sp.temperature = 0;
    Sampler sampler(sp);
    t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n_gen; ++i) {
      const int32_t next[1] = {sampler.Sample((*s)->logits(), (*s)->tokens())};
      if (!(*s)->Eval(next).ok()) return 1;
    }
    decode.push_back(double(n_gen) / Seconds(t0));
    // Baseline: the same prompt fed one token at a time.
    (*s)->Reset();
    t0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < n_prompt; ++i)
      if (!(*s)->Eval(std::span<const int32_t>(&prompt[i], 1)).ok()) return 1;
    prefill_serial.push_back(double(n_prompt) / Seconds(t0));
  }
  const Stats p = Summarize(prefill), ps = Summarize(prefill_serial), d = Summarize(decode);
  ThreadContext probe(params.threads);
  std::printf("model %s | %zu weight bytes | threads %d | kv %s | %s\n", model_path.c_str(),
              (*model)->weight_bytes(), probe.num_threads(), DTypeName(params.kv_dtype),
              DescribeCpu(DetectCpuFeatures()).c_str());
  std::printf("%-28s %12s %12s %12s\n", "test (median of runs)", "tok/s", "min", "max");
  std::printf("%-28s %12.1f %12.1f %12.1f\n", ("prefill pp" + std::to_string(n_prompt)).c_str(),
              p.median, p.min, p.max);
  std::printf("%-28s %12.1f %12.1f %12.1f\n",
              ("prefill 1-by-1 pp" + std::to_string(n_prompt)).c_str(), ps.median, ps.min, ps.max);
  std::printf("%-28s %12.1f %12.1f %12.1f\n", ("decode tg" + std::to_string(n_gen)).c_str(),
              d.median, d.min, d.max);
  std::printf("batched prefill / 1-by-1 prefill = %.2fx (%d runs)\n", p.median / ps.median,
              repeats);
  return 0;
}
