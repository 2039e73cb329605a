// RWKV-6 prefill and decode: chunked prefill (matrix-matrix projections + chunk-parallel WKV)
// against the same prompt fed one token at a time, decode tokens/s, and peak RSS per prompt
// length (the state is fixed-size, so peak memory should not grow with the prompt).
// Median (min..max) of repeated runs; the baseline is measured in the same run.
//
// usage: bench_rwkv6 (-m RWKV_CPP_FILE | --shape tiny|small|1b6 [--type f32|f16|bf16])
//                    [-p 1024,16384] [--serial-max 1024] [-n 64] [-r 3] [-t 0] [-b 64]
//   --serial-max caps the token-by-token baseline's prompt (its tokens/s does not depend on
//   the prompt length, and on the 1b6 shape a long serial prefill would take hours).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "models/rwkv6/rwkv6_model.h"
#include "models/rwkv6/rwkv6_random.h"
#include "platform/cpu_features.h"
#include "runtime/model.h"

using namespace floe;
using namespace floe::bench;

namespace {

Rwkv6Config Shape(const std::string& name) {
  Rwkv6Config c;
  c.vocab_size = 65536;
  c.head_size = 64;
  c.lora_mix = 32;
  c.lora_decay = 64;
  if (name == "1b6") {  // RWKV-6 World 1B6: D 2048, 24 layers, FFN 3.5 D
    c.n_embd = 2048, c.n_layer = 24, c.dim_ffn = 7168;
  } else if (name == "small") {  // the 0.1B shape: D 768, 12 layers
    c.n_embd = 768, c.n_layer = 12, c.dim_ffn = 2688;
  } else {  // tiny: D 256, 6 layers
    c.n_embd = 256, c.n_layer = 6, c.dim_ffn = 896, c.lora_decay = 32;
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = Arg(argc, argv, "-m", "");
  const std::string shape = Arg(argc, argv, "--shape", "tiny");
  const std::string type = Arg(argc, argv, "--type", "f16");
  const auto prompts = List(Arg(argc, argv, "-p", "1024,16384"));
  const size_t serial_max = std::strtoull(Arg(argc, argv, "--serial-max", "1024"), nullptr, 10);
  const size_t n_gen = std::strtoull(Arg(argc, argv, "-n", "64"), nullptr, 10);
  const int repeats = std::max(1, std::atoi(Arg(argc, argv, "-r", "3")));
  ThreadContext threads(std::atoi(Arg(argc, argv, "-t", "0")));
  StateOptions so;
  so.max_batch = std::strtoull(Arg(argc, argv, "-b", "64"), nullptr, 10);

  std::unique_ptr<Model> file_model;
  std::unique_ptr<RandomRwkv6> random;
  std::unique_ptr<Rwkv6Model> random_lm;
  const CausalLm* lm = nullptr;
  std::string what;
  size_t weight_bytes = 0;
  if (!path.empty()) {
    auto m = Model::Load(path);
    if (!m.ok()) return std::fprintf(stderr, "%s\n", m.status().ToString().c_str()), 1;
    file_model = std::move(m).value();
    lm = &file_model->lm();
    weight_bytes = file_model->weight_bytes();
    what = path;
  } else {
    const DType dt = type == "f32" ? DType::kF32 : type == "bf16" ? DType::kBF16 : DType::kF16;
    auto r = MakeRandomRwkv6(Shape(shape), 42, dt);
    if (!r.ok()) return std::fprintf(stderr, "%s\n", r.status().ToString().c_str()), 1;
    random = std::move(r).value();
    auto net = BindRwkv6(random->tensors, Rwkv6Layout::kOfficial);
    if (!net.ok()) return std::fprintf(stderr, "%s\n", net.status().ToString().c_str()), 1;
    auto made = Rwkv6Model::Create(std::move(net).value());
    if (!made.ok()) return std::fprintf(stderr, "%s\n", made.status().ToString().c_str()), 1;
    random_lm = std::move(made).value();
    weight_bytes = random_lm->weight_bytes();
    lm = random_lm.get();
    what = "random RWKV-6 '" + shape + "' (" + type + ")";
  }
  const size_t V = lm->vocab_size();
  std::vector<float> logits(V);
  auto tokens = [&](size_t n) {
    std::vector<int32_t> t(n);
    for (size_t i = 0; i < n; ++i) t[i] = int32_t((i * 7919 + 13) % V);
    return t;
  };
  std::printf("%s | %zu weight bytes | threads %d | chunk %zu | %s\n", what.c_str(), weight_bytes,
              threads.num_threads(), so.max_batch, DescribeCpu(DetectCpuFeatures()).c_str());
  std::printf("%-10s %14s %14s %8s %12s %16s %14s\n", "prompt", "chunked tok/s", "1-by-1 tok/s",
              "ratio", "decode tok/s", "peak RSS MiB", "state KiB");
  for (size_t P : prompts) {
    const auto prompt = tokens(P);
    const size_t serial_n = std::min(P, serial_max);
    std::vector<double> chunked, serial, decode;
    size_t peak = 0, state_bytes = 0;
    for (int r = 0; r < repeats; ++r) {
      auto st = lm->NewState(so);
      if (!st.ok()) return std::fprintf(stderr, "%s\n", st.status().ToString().c_str()), 1;
      const bool reset = ResetPeakRss();
      auto t0 = std::chrono::steady_clock::now();
      Status s = lm->Forward(**st, prompt, LogitsMode::kLast, logits.data(), threads, nullptr);
      if (!s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
      chunked.push_back(double(P) / Seconds(t0));
      if (reset) peak = std::max(peak, PeakRss());
      state_bytes = (*st)->memory_bytes();
      t0 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < n_gen; ++i) {
        const int32_t next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
        s = lm->Forward(**st, std::span<const int32_t>(&next, 1), LogitsMode::kLast, logits.data(), threads, nullptr);
        if (!s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
      }
      decode.push_back(double(n_gen) / Seconds(t0));
      (*st)->Reset();
      t0 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < serial_n; ++i) {
        s = lm->Forward(**st, std::span<const int32_t>(&prompt[i], 1), LogitsMode::kNone, nullptr, threads, nullptr);
        if (!s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
      }
      serial.push_back(double(serial_n) / Seconds(t0));
    }
    const Stats c = Summarize(chunked), sr = Summarize(serial), d = Summarize(decode);
    std::printf("%-10zu %8.1f (%.0f..%.0f) %8.1f %7.2fx %12.1f %16.1f %14.1f\n", P, c.median, c.min,
                c.max, sr.median, c.median / sr.median, d.median, peak / 1048576.0, state_bytes / 1024.0);
    std::fflush(stdout);
  }
  std::printf("(1-by-1 measured on min(prompt, %zu) tokens; peak RSS = VmHWM during the chunked prefill, "
              "reset before each run; %d runs, median (min..max))\n", serial_max, repeats);
  return 0;
}
