// The measurement shared by the recurrent-model benchmarks (bench_rwkv6, bench_transnormer):
// per prompt length, chunked prefill vs the same prompt fed token by token (same run), decode
// tokens/s, RSS before and peak RSS during the chunked prefill, and the state size. Prints one
// table row per prompt length; returns a process exit code.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "models/causal_lm.h"
#include "platform/base/cpu_features.h"

namespace floe::bench {

struct RecurrentBenchOptions {
  std::vector<size_t> prompts;  // prompt lengths
  size_t serial_max = 1024;     // token-by-token baseline measured on min(prompt, this) tokens
  size_t n_gen = 64;            // decode steps after the prefill
  int repeats = 3;
  StateOptions state;  // max_batch = the prefill chunk
};

inline int RunRecurrentPrefillBench(const CausalLm& lm, const std::string& what,
                                    size_t weight_bytes, const RecurrentBenchOptions& o,
                                    ThreadContext& threads) {
  const size_t V = lm.vocab_size();
  std::vector<float> logits(V);
  auto fail = [](const Status& s) { return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1; };
  std::printf("%s | %zu weight bytes | threads %d | chunk %zu | %s\n", what.c_str(), weight_bytes,
              threads.num_threads(), o.state.max_batch, DescribeCpu(DetectCpuFeatures()).c_str());
  std::printf("%-8s %24s %12s %8s %12s %13s %13s %10s\n", "prompt", "chunked tok/s", "1-by-1 tok/s",
              "ratio", "decode tok/s", "RSS MiB", "peak RSS MiB", "state KiB");
  for (size_t P : o.prompts) {
    std::vector<int32_t> prompt(P);
    for (size_t i = 0; i < P; ++i) prompt[i] = int32_t((i * 7919 + 13) % V);
    const size_t serial_n = std::min(P, o.serial_max);
    std::vector<double> chunked, serial, decode;
    size_t peak = 0, before = 0, state_bytes = 0;
    for (int r = 0; r < std::max(1, o.repeats); ++r) {
      auto st = lm.NewState(o.state);
      if (!st.ok()) return fail(st.status());
      const bool reset = ResetPeakRss();
      before = StatusBytes("VmRSS:");
      auto t0 = std::chrono::steady_clock::now();
      if (Status s = lm.Forward(**st, prompt, LogitsMode::kLast, logits.data(), threads, nullptr);
          !s.ok())
        return fail(s);
      chunked.push_back(double(P) / Seconds(t0));
      if (reset) peak = std::max(peak, PeakRss());
      state_bytes = (*st)->memory_bytes();
      t0 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < o.n_gen; ++i) {
        const int32_t next =
            int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
        Status s = lm.Forward(**st, std::span<const int32_t>(&next, 1), LogitsMode::kLast,
                              logits.data(), threads, nullptr);
        if (!s.ok()) return fail(s);
      }
      if (o.n_gen) decode.push_back(double(o.n_gen) / Seconds(t0));
      (*st)->Reset();
      t0 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < serial_n; ++i) {
        Status s = lm.Forward(**st, std::span<const int32_t>(&prompt[i], 1), LogitsMode::kNone,
                              nullptr, threads, nullptr);
        if (!s.ok()) return fail(s);
      }
      if (serial_n) serial.push_back(double(serial_n) / Seconds(t0));
    }
    const Stats c = Summarize(chunked);
    const double d = decode.empty() ? 0.0 : Summarize(decode).median;
    const double sr = serial.empty() ? 0.0 : Summarize(serial).median;
    char range[64];
    std::snprintf(range, sizeof range, "%.1f (%.0f..%.0f)", c.median, c.min, c.max);
    std::printf("%-8zu %24s %12.1f %7.2fx %12.1f %13.1f %13.1f %10.1f\n", P, range, sr,
                sr > 0 ? c.median / sr : 0.0, d, before / 1048576.0, peak / 1048576.0,
                state_bytes / 1024.0);
    std::fflush(stdout);
  }
  std::printf(
      "(1-by-1 measured on min(prompt, %zu) tokens; RSS = VmRSS before the chunked prefill, peak "
      "RSS = "
      "VmHWM during it, reset before each run; state = recurrent state + chunk scratch; %d runs, "
      "median (min..max))\n",
      o.serial_max, o.repeats);
  return 0;
}

}  // namespace floe::bench
