// Soak: many sessions on one model, generating with save / restore / fork cycles for a long
// time (issue 27; docs/results/soak.md). Meant to run under AddressSanitizer (the -DFLOE_FUZZ=ON
// or -DFLOE_SANITIZE=ON build), which reports leaks at exit.
//
// Each of --sessions threads owns one session (1 thread each) and a distinct prompt. Before the
// soak, every prompt's greedy continuation of 2 x --half tokens is computed alone, in one fresh
// session (the solo reference). Then each thread repeats until --seconds have passed:
//   restore the saved prefilled prompt; decode --half greedy tokens; save; fork;
//   decode --half more in the session; restore the mid-point state into a second session and
//   decode --half there too; decode --half in the fork;
// and checks that all three continuations, and the first half, equal the solo reference.
// The main thread prints the process RSS every --every seconds.
//
// Usage: bench_soak --model M [--tokenizer T] [--sessions 8] [--seconds 600] [--half 24]
//                   [--every 10]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/bench_util.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

namespace {

using floe::Session;

int32_t Argmax(std::span<const float> logits) {
  return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

// Greedy continuation of n tokens from the session's current logits; appends them to *out.
bool Decode(Session& s, size_t n, std::vector<int32_t>* out) {
  for (size_t i = 0; i < n; ++i) {
    int32_t t = Argmax(s.logits());
    out->push_back(t);
    if (!s.Eval(std::span<const int32_t>(&t, 1)).ok()) return false;
  }
  return true;
}

struct Worker {
  std::vector<int32_t> prompt;
  std::vector<int32_t> solo;      // 2 x half tokens, generated alone
  std::vector<uint8_t> prefilled;  // state after the prompt
  std::atomic<size_t> cycles{0};  // read by the main thread while the worker runs
  size_t mismatches = 0, errors = 0;
};

}  // namespace

int main(int argc, char** argv) {
  using floe::bench::Arg;
  const std::string model_path = Arg(argc, argv, "--model", "");
  const std::string tokenizer = Arg(argc, argv, "--tokenizer", "");
  const size_t n_sessions = std::strtoull(Arg(argc, argv, "--sessions", "8"), nullptr, 10);
  const double seconds = std::atof(Arg(argc, argv, "--seconds", "600"));
  const size_t half = std::strtoull(Arg(argc, argv, "--half", "24"), nullptr, 10);
  const double every = std::atof(Arg(argc, argv, "--every", "10"));
  if (model_path.empty() || n_sessions == 0 || half == 0) {
    std::fprintf(stderr, "usage: bench_soak --model M [--tokenizer T] [--sessions 8] "
                         "[--seconds 600] [--half 24] [--every 10]\n");
    return 2;
  }
  floe::LoadOptions lo;
  lo.tokenizer_path = tokenizer;
  auto model = floe::Model::Load(model_path, lo);
  if (!model.ok()) {
    std::fprintf(stderr, "load: %s\n", model.status().ToString().c_str());
    return 1;
  }
  floe::SessionParams params;
  params.threads = 1;
  params.context_length = 256;
  const size_t vocab = (*model)->lm().vocab_size();

  std::vector<Worker> workers(n_sessions);
  for (size_t w = 0; w < n_sessions; ++w) {
    for (size_t i = 0; i < 6; ++i) workers[w].prompt.push_back(int32_t((1 + w * 37 + i * 11) % vocab));
    auto s = Session::Create(**model, params);
    if (!s.ok() || !(*s)->Eval(workers[w].prompt).ok() ||
        !(*s)->SaveState(&workers[w].prefilled).ok() ||
        !Decode(**s, 2 * half, &workers[w].solo)) {
      std::fprintf(stderr, "solo run %zu failed\n", w);
      return 1;
    }
  }

  std::atomic<bool> stop{false};
  auto work = [&](Worker& wk) {
    auto a = Session::Create(**model, params);
    auto b = Session::Create(**model, params);
    if (!a.ok() || !b.ok()) {
      ++wk.errors;
      return;
    }
    while (!stop.load()) {
      std::vector<int32_t> first, cont_a, cont_b, cont_f;
      std::vector<uint8_t> mid;
      bool ok = (*a)->RestoreState(wk.prefilled).ok() && Decode(**a, half, &first) &&
                (*a)->SaveState(&mid).ok();
      std::unique_ptr<Session> fork;
      if (ok) {
        auto f = (*a)->Fork();
        ok = f.ok();
        if (ok) fork = std::move(f).value();
      }
      ok = ok && Decode(**a, half, &cont_a) && (*b)->RestoreState(mid).ok() &&
           Decode(**b, half, &cont_b) && Decode(*fork, half, &cont_f);
      if (!ok) {
        ++wk.errors;
        return;
      }
      const std::vector<int32_t> want_first(wk.solo.begin(), wk.solo.begin() + half);
      const std::vector<int32_t> want_cont(wk.solo.begin() + half, wk.solo.end());
      if (first != want_first || cont_a != want_cont || cont_b != want_cont || cont_f != want_cont)
        ++wk.mismatches;
      ++wk.cycles;
    }
  };

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (Worker& wk : workers) threads.emplace_back(work, std::ref(wk));
  std::printf("seconds,rss_mib,cycles\n");
  double next = 0;
  while (floe::bench::Seconds(t0) < seconds) {
    if (floe::bench::Seconds(t0) >= next) {
      size_t cycles = 0;
      for (const Worker& wk : workers) cycles += wk.cycles;
      std::printf("%.0f,%.1f,%zu\n", floe::bench::Seconds(t0),
                  floe::bench::StatusBytes("VmRSS:") / 1048576.0, cycles);
      std::fflush(stdout);
      next += every;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  stop.store(true);
  for (auto& t : threads) t.join();
  size_t cycles = 0, mismatches = 0, errors = 0;
  for (const Worker& wk : workers) {
    cycles += wk.cycles;
    mismatches += wk.mismatches;
    errors += wk.errors;
  }
  std::printf("end: %.0f s, %zu sessions, %zu cycles (%zu tokens decoded), %zu mismatches, "
              "%zu errors, rss %.1f MiB, peak rss %.1f MiB\n",
              floe::bench::Seconds(t0), n_sessions, cycles, cycles * 4 * half, mismatches, errors,
              floe::bench::StatusBytes("VmRSS:") / 1048576.0, floe::bench::PeakRss() / 1048576.0);
  return mismatches == 0 && errors == 0 ? 0 : 1;
}
