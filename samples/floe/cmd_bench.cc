// floe bench: llama-bench-style throughput table for one model.
//   pp<P>          prefill of P tokens from an empty context (chunked, matrix-matrix)
//   tg<N>          N decode steps from an empty context
//   tg<N>@d<D>     N decode steps after a D-token context (prefilled once, not timed; each
//                  repetition decodes from a fork of that context)
//   tg<N>x<S>      with --seqs S > 1: S sequences decoded together, each step one batched
//                  forward (weights read once per step); tokens/s is the aggregate
// Median and spread (min..max) of -r repetitions; peak RSS of each test (VmHWM, reset before
// it); for tg, the weight bytes read per token and the achieved read bandwidth.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "attention_flags.h"
#include "checks.h"
#include "load_flags.h"
#include "session_flags.h"
#include "commands.h"
#include "platform/base/cpu_features.h"
#include "platform/base/process_stats.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

namespace floe::cli {

namespace {

struct Result {
  std::string test;
  long n_prompt = 0, n_gen = 0, depth = 0;
  double median = 0, min = 0, max = 0;
  size_t peak_rss = 0;
};

Result Summarize(Result r, std::vector<double> v) {
  const Stats s = floe::Summarize(std::move(v));
  r.median = s.median;
  r.min = s.min;
  r.max = s.max;
  return r;
}

std::vector<int32_t> Tokens(size_t n, size_t vocab) {
  std::vector<int32_t> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = int32_t(3 + (i * 7919) % (vocab - 3));
  return t;
}

struct BenchFlags {
  ModelFlags model;
  long n_prompt = 512;
  long n_gen = 128;
  std::vector<long> depths = {0};
  std::vector<long> threads = {0};
  long reps = 3;
  bool json = false;
  DType kv = DType::kF16;  // KV cache type; f16 as llama-bench
  long n_seqs = 1;         // > 1: batched decode of this many sequences
  AttentionSettings attention;
  std::optional<HeadPlan> head_plan;
};

int Run(const BenchFlags& f) {
  const std::string& model_path = f.model.model;
  const long n_prompt = f.n_prompt, n_gen = f.n_gen, reps = f.reps, n_seqs = f.n_seqs;
  const bool json = f.json;
  const AttentionSettings& attention = f.attention;
  ProgressLine progress(f.model.progress);
  const auto load_start = std::chrono::steady_clock::now();
  auto model = LoadModel(model_path, f.model.load, &progress);
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  if (!model.ok()) {
    std::fprintf(stderr, "floe bench: %s\n", model.status().ToString().c_str());
    return 1;
  }
  const Model& m = **model;
  const size_t vocab = m.lm().vocab_size();
  const std::string& type = m.weight_type();  // of the largest weight family
  // Bytes of the model file mapped by 2 MiB pages (-1: not measured; see --huge-pages).
  const long long huge_bytes =
      m.file().huge_page_bytes() ? (long long)*m.file().huge_page_bytes() : -1;
  if (!json) {
    const std::string pages =
        "weights: " + (huge_bytes >= 0 ? DescribeHugePages(m.file()) : "2 MiB pages not measured");
    char load[160];
    std::snprintf(load, sizeof load,
                  "load %.2f s (repacked %zu matrices, %.0f MiB, in %.2f s; %.0f MiB of the file "
                  "released)",
                  load_s, m.repacked().matrices(), m.repacked().bytes() / 1048576.0,
                  m.repacked().seconds(), m.repacked().released_bytes() / 1048576.0);
    std::printf(
        "model %s | %s | %.2f GB weights | attention %s | %s | %s | %s\n%-8s %-14s %12s %12s "
        "%12s %10s %10s\n",
        model_path.c_str(), type.c_str(), m.weight_bytes() / 1e9,
        f.head_plan ? "head plan" : AttentionBackendName(attention.backend),
        DescribeCpu(DetectCpuFeatures()).c_str(), pages.c_str(), load, "threads", "test", "tok/s",
        "min", "max", "GB/s", "RSS MiB");
  }
  for (long th : f.threads) {
    SessionParams sp;
    sp.threads = int(th);
    sp.kv_dtype = f.kv;
    sp.attention = attention;
    sp.head_plan = f.head_plan;
    std::vector<Result> results;
    auto fail = [&](const Status& st) {
      std::fprintf(stderr, "floe bench: %s\n", st.ToString().c_str());
      return 1;
    };
    // One session per test, reset between repetitions after an untimed warm-up, as llama-bench
    // reuses its context: a fresh session's first writes into its KV cache fault in zeroed
    // (huge) pages, a once-per-session cost that would otherwise sit in every repetition.
    if (n_prompt > 0) {  // pp
      std::vector<double> v;
      ResetPeakRss();
      auto s = Session::Create(m, sp);
      if (!s.ok()) return fail(s.status());
      // Checked before the prompt is made: -p sizes it (docs/allocation-audit.md item 16).
      if (size_t(n_prompt) > (*s)->capacity())
        return fail(OutOfRange("-p " + std::to_string(n_prompt) + " exceeds the context of " +
                               std::to_string((*s)->capacity()) + " tokens"));
      const auto prompt = Tokens(size_t(n_prompt), vocab);
      for (long r = -1; r < reps; ++r) {  // r = -1: the warm-up
        (*s)->Reset();
        const auto t0 = std::chrono::steady_clock::now();
        if (Status st = (*s)->Eval(prompt); !st.ok()) return fail(st);
        if (r >= 0) v.push_back(double(n_prompt) / Seconds(t0));
      }
      Result res;
      res.test = "pp";  // built piecewise: GCC 12's -Wrestrict misfires on "pp" + std::string
      res.test += std::to_string(n_prompt);
      res.n_prompt = n_prompt;
      res = Summarize(res, v);
      res.peak_rss = PeakRss();
      results.push_back(res);
    }
    for (long depth : f.depths) {  // tg at each depth
      if (n_gen == 0) break;
      ResetPeakRss();
      std::unique_ptr<Session> base;  // the prefilled context (depth > 0 only)
      if (depth > 0) {
        // Only this untimed prefill reports progress (a progress callback makes a session
        // prefill in chunks, which would change what pp measures). Its forks inherit the
        // callback; it is idle while they decode.
        SessionParams with_progress = sp;
        with_progress.progress = progress.PrefillCallback();
        auto made = Session::Create(m, with_progress);
        if (!made.ok()) return fail(made.status());
        base = std::move(made).value();
        if (size_t(depth) + size_t(n_gen) > base->capacity())
          return fail(OutOfRange("-d " + std::to_string(depth) + " plus -n " +
                                 std::to_string(n_gen) + " exceeds the context of " +
                                 std::to_string(base->capacity()) + " tokens"));
        progress.Start("context prefill d" + std::to_string(depth), double(depth), "tok");
        const Status st = base->Eval(Tokens(size_t(depth), vocab));
        progress.Finish();
        if (!st.ok()) return fail(st);
      }
      std::vector<double> v;
      ThreadContext batch_threads{int(th)};
      // Depth 0: the same n_seqs sessions for every repetition (reset; one warm-up first).
      // Depth > 0: fresh forks of the prefilled context each repetition (the copy writes the
      // cache up to the depth before the clock starts).
      std::vector<std::unique_ptr<Session>> seqs;
      for (long r = depth > 0 ? 0 : -1; r < reps; ++r) {
        // n_seqs sequences (forks of the prefilled context); with more than one, every step is
        // one batched forward over all of them and the figure is the aggregate tokens/s.
        if (depth > 0 || seqs.empty()) {
          seqs.clear();
          for (long q = 0; q < n_seqs; ++q) {
            auto s = depth > 0 ? base->Fork() : Session::Create(m, sp);
            if (!s.ok()) return fail(s.status());
            seqs.push_back(std::move(s).value());
          }
        } else {
          for (auto& s : seqs) s->Reset();
        }
        std::vector<Session*> ptrs;
        for (auto& s : seqs) ptrs.push_back(s.get());
        std::vector<int32_t> next(size_t(n_seqs), 1);
        const auto t0 = std::chrono::steady_clock::now();
        for (long i = 0; i < n_gen; ++i) {
          Status st = n_seqs == 1 ? seqs[0]->Eval(std::span<const int32_t>(next.data(), 1))
                                  : Session::EvalBatch(ptrs, next, batch_threads);
          if (!st.ok()) return fail(st);
          for (long q = 0; q < n_seqs; ++q)
            next[size_t(q)] = int32_t(3 + (i * 31 + q * 7) % (vocab - 3));
        }
        if (r >= 0) v.push_back(double(n_gen * n_seqs) / Seconds(t0));
      }
      Result res;
      res.test = "tg";  // built piecewise (GCC 12 -Wrestrict false positive)
      res.test += std::to_string(n_gen);
      if (n_seqs > 1) {
        res.test += 'x';
        res.test += std::to_string(n_seqs);
      }
      if (depth > 0) {
        res.test += "@d";
        res.test += std::to_string(depth);
      }
      res.n_gen = n_gen;
      res.depth = depth;
      res = Summarize(res, v);
      res.peak_rss = PeakRss();
      results.push_back(res);
    }
    ThreadContext probe{int(th)};
    for (const Result& r : results) {
      // Weight bytes are read once per step, shared by the n_seqs sequences of a batched step.
      const double gbps =
          r.n_gen > 0 ? r.median / double(n_seqs) * double(m.weight_bytes()) / 1e9 : 0.0;
      if (json) {
        std::printf(
            "{\"model\":\"%s\",\"type\":\"%s\",\"threads\":%d,\"test\":\"%s\",\"n_prompt\":%ld,"
            "\"n_gen\":%ld,\"depth\":%ld,\"attention\":\"%s\",\"tokens_per_s\":%.3f,"
            "\"tokens_per_s_min\":%.3f,\"tokens_per_s_max\":%.3f,\"peak_rss_bytes\":%zu,"
            "\"model_bytes_per_token\":%zu,\"achieved_gb_per_s\":%.3f,\"repetitions\":%ld,"
            "\"sequences\":%ld,"
            "\"weights_huge_page_bytes\":%lld,\"load_seconds\":%.3f,\"repacked_bytes\":%zu,"
            "\"repack_seconds\":%.3f}\n",
            model_path.c_str(), type.c_str(), probe.num_threads(), r.test.c_str(), r.n_prompt,
            r.n_gen, r.depth, AttentionBackendName(attention.backend), r.median, r.min, r.max,
            r.peak_rss, m.weight_bytes(), gbps, reps, r.n_gen > 0 ? n_seqs : 1L, huge_bytes, load_s,
            m.repacked().bytes(), m.repacked().seconds());
      } else {
        std::printf("%-8d %-14s %12.2f %12.2f %12.2f %10.1f %10.1f\n", probe.num_threads(),
                    r.test.c_str(), r.median, r.min, r.max, gbps, r.peak_rss / 1048576.0);
      }
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

Verb AddBench(CLI::App& floe) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* app = floe.add_subcommand(
      "bench", "llama-bench-style throughput table (prefill, decode, decode at depth)");
  AddModelFlags(app, &f->model);
  app->add_option("-p,--n-prompt", f->n_prompt, "prefill test tokens, 0: none")
      ->check(IntAtLeast(0));
  app->add_option("-n,--n-gen", f->n_gen, "decode test tokens, 0: none")->check(IntAtLeast(0));
  // Comma-separated lists of counts >= 0 (one value per occurrence of the flag: "-t 1,2").
  auto add_list = [app](const char* name, std::vector<long>* v, const char* help) {
    app->add_option(name, *v, help)
        ->check(IntAtLeast(0))
        ->delimiter(',')
        ->allow_extra_args(false)
        ->type_name("N,...")
        ->default_str("0");
  };
  add_list("-d,--depth", &f->depths, "decode after contexts of these lengths, comma-separated");
  add_list("-t,--threads", &f->threads,
           "thread counts to test, comma-separated; 0 = physical cores");
  app->add_option("-r,--repetitions", f->reps, "repetitions per test, for the median, min and max")
      ->check(IntAtLeast(1));
  AddKvFlag(app, &f->kv);
  app->add_option("--seqs", f->n_seqs, "sequences decoded together in batched steps")
      ->check(IntAtLeast(1));
  app->add_flag("--json", f->json, "one JSON object per test instead of the table");
  AddAttentionFlags(app, &f->attention);
  AddHeadPlanFlag(app, &f->head_plan);
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::cli
