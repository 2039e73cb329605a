// GoldFinch prefill: time per token of a kLast prefill (Finch-C2 layers over the whole prompt,
// GOLD layers only at the last positions) against the same prompt with kNone (Finch-C2 layers
// and the TokenCat cache only; no GOLD layer runs) in the same run, the GOLD query rows each
// prefill ran (counted through the attention probe), peak RSS during the prefill, the state's
// bytes (cache + fixed state + scratch, and the GOLD key/value speed cache, reported apart, with
// --gold-kv-cache), and a few decode steps. Decode at depth against a Llama and with ice:
// bench_goldfinch_decode.
//
// usage: bench_goldfinch [--shape tiny|small|1b5] [--type f32|f16|bf16] [-p 1024,16384]
//                        [-n 4] [-r 1] [-t 0] [-b 64] [--kv f32|f16] [--gold-kv-cache 0|1]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "models/goldfinch/goldfinch_model.h"
#include "models/goldfinch/goldfinch_random.h"
#include "platform/base/cpu_features.h"
#include "platform/base/process_stats.h"

using namespace floe;
using namespace floe::bench;

namespace {

class RowCounter final : public AttentionProbe {
 public:
  bool Wants(size_t, size_t head, size_t) const override {
    if (head == 0) rows_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  void Record(const AttentionProbeEvent&) override {}
  size_t Take() { return rows_.exchange(0); }

 private:
  mutable std::atomic<size_t> rows_{0};
};

int Fail(const Status& s) { return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1; }

}  // namespace

int main(int argc, char** argv) {
  const std::string shape = Arg(argc, argv, "--shape", "small");
  const std::string type = Arg(argc, argv, "--type", "f16");
  const auto prompts = List(Arg(argc, argv, "-p", "1024,16384"));
  const size_t n_gen = std::strtoull(Arg(argc, argv, "-n", "4"), nullptr, 10);
  const int repeats = std::max(1, std::atoi(Arg(argc, argv, "-r", "1")));
  ThreadContext threads(std::atoi(Arg(argc, argv, "-t", "0")));
  RowCounter counter;
  StateOptions so;
  so.max_batch = std::strtoull(Arg(argc, argv, "-b", "64"), nullptr, 10);
  so.kv_dtype = std::string(Arg(argc, argv, "--kv", "f16")) == "f32" ? DType::kF32 : DType::kF16;
  so.attention_probe = &counter;
  so.attention.gold_kv_cache = std::atoi(Arg(argc, argv, "--gold-kv-cache", "0")) != 0;

  const DType dt = type == "f32" ? DType::kF32 : type == "bf16" ? DType::kBF16 : DType::kF16;
  auto preset = GoldfinchPresetShape(shape);
  if (!preset.ok()) return Fail(preset.status());
  auto random = MakeRandomGoldfinch(*preset, 42, dt);
  if (!random.ok()) return Fail(random.status());
  auto net = BindGoldfinch((*random)->tensors, nullptr);
  if (!net.ok()) return Fail(net.status());
  auto made = GoldfinchModel::Create(std::move(net).value());
  if (!made.ok()) return Fail(made.status());
  const GoldfinchModel& lm = **made;
  const GoldfinchConfig& c = lm.config();
  const size_t V = lm.vocab_size();
  std::vector<float> logits(V);
  std::printf(
      "random GoldFinch '%s' (%s): L %zu (GOLD from %zu), D %zu | cache %zu B/token (%s) | "
      "GOLD speed cache %s (%zu B/token) | threads %d | chunk %zu | %s\n",
      shape.c_str(), type.c_str(), c.n_layer, c.first_gold_layer, c.n_embd,
      lm.cache_bytes_per_token(so.kv_dtype), DTypeName(so.kv_dtype),
      so.attention.gold_kv_cache ? "on" : "off", lm.speed_cache_bytes_per_token(),
      threads.num_threads(), so.max_batch, DescribeCpu(DetectCpuFeatures()).c_str());
  std::printf("%-8s %14s %14s %8s %10s %12s %13s %12s %12s %14s\n", "prompt", "kLast ms/tok",
              "kNone ms/tok", "ratio", "GOLD rows", "decode tok/s", "peak RSS MiB", "RSS0 MiB",
              "state MiB", "speed cache MiB");
  for (size_t P : prompts) {
    std::vector<int32_t> prompt(P);
    for (size_t i = 0; i < P; ++i) prompt[i] = int32_t((i * 7919 + 13) % V);
    std::vector<double> last, none, decode;
    size_t rows = 0, peak = 0, before = 0, state_bytes = 0, speed_bytes = 0;
    for (int r = 0; r < repeats; ++r) {
      auto st = lm.NewState(so);
      if (!st.ok()) return Fail(st.status());
      const bool reset = ResetPeakRss();
      before = StatusBytes("VmRSS:");
      counter.Take();
      auto t0 = std::chrono::steady_clock::now();
      if (Status s = lm.Forward(**st, prompt, LogitsMode::kLast, logits.data(), threads, nullptr);
          !s.ok())
        return Fail(s);
      last.push_back(Seconds(t0) * 1e3 / double(P));
      rows = counter.Take();
      if (reset) peak = std::max(peak, PeakRss());
      state_bytes = (*st)->memory_bytes();
      speed_bytes = GoldfinchModel::speed_cache_bytes(**st);
      t0 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < n_gen; ++i) {
        const int32_t next =
            int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
        if (Status s = lm.Forward(**st, std::span<const int32_t>(&next, 1), LogitsMode::kLast,
                                  logits.data(), threads, nullptr);
            !s.ok())
          return Fail(s);
      }
      if (n_gen) decode.push_back(double(n_gen) / Seconds(t0));
      (*st)->Reset();
      t0 = std::chrono::steady_clock::now();
      if (Status s = lm.Forward(**st, prompt, LogitsMode::kNone, nullptr, threads, nullptr);
          !s.ok())
        return Fail(s);
      none.push_back(Seconds(t0) * 1e3 / double(P));
    }
    const double l = Summarize(last).median, n = Summarize(none).median;
    std::printf("%-8zu %14.4f %14.4f %7.3fx %10zu %12.2f %13.1f %12.1f %12.2f %14.2f\n", P, l, n,
                l / n, rows, decode.empty() ? 0.0 : Summarize(decode).median, peak / 1048576.0,
                before / 1048576.0, state_bytes / 1048576.0, speed_bytes / 1048576.0);
    std::fflush(stdout);
  }
  std::printf(
      "(ms/tok = prefill wall time / prompt length; ratio = kLast / kNone; GOLD rows = query rows "
      "the kLast prefill ran over all GOLD layers; peak RSS = VmHWM during the kLast prefill "
      "(reset before it), RSS0 = VmRSS before it; state = memory_bytes() after the prefill, which "
      "includes the speed cache (its capacity); %d run(s), median)\n",
      repeats);
  return 0;
}
