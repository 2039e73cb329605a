// Decode speed with the mapped weights in 2 MiB pages vs 4 KiB pages, in one run.
// Baseline: the model file cached in small folios (its state right after it was written: a
// download, `floe quantize`), loaded with HugePages::kAdvise, which maps those folios as they
// are: decode streams the weights through 4 KiB pages. Measured: the same cache state loaded
// with the default HugePages::kRefault, which reads the file in again in 2 MiB folios.
// Repetitions alternate which of the two goes first; each prints tokens/s, load seconds and
// how much of the file 2 MiB pages map; the ratio is the median of the per-repetition ratios.
//
// usage: bench_weight_pages -m MODEL [-n 64] [-r 5] [-t 0]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "platform/base/page_cache.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

using namespace floe;
using namespace floe::bench;

namespace {

struct Run {
  double tokens_per_s = 0, load_s = 0;
  long long huge_mib = -1, file_mib = 0;
  bool refaulted = false;
};

// Caches the file in small folios, loads it with `pages`, decodes n tokens after 4 untimed ones.
bool DecodeOnce(const std::string& path, HugePages pages, size_t n, int threads, Run* out) {
  std::string err;
  if (!CacheInSmallPages(path, &err)) {
    std::fprintf(stderr, "%s\n", err.c_str());
    return false;
  }
  LoadOptions lo;
  lo.huge_pages = pages;
  const auto t0 = std::chrono::steady_clock::now();
  auto model = Model::Load(path, lo);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    return false;
  }
  out->load_s = Seconds(t0);
  SessionParams sp;
  sp.threads = threads;
  sp.kv_dtype = DType::kF16;
  auto s = Session::Create(**model, sp);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.status().ToString().c_str());
    return false;
  }
  const size_t vocab = (*model)->lm().vocab_size();
  int32_t tok = 1;
  for (int i = 0; i < 4; ++i)
    if (!(*s)->Eval(std::span<const int32_t>(&tok, 1)).ok()) return false;
  const auto t1 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; ++i) {
    tok = int32_t(3 + (i * 31) % (vocab - 3));
    if (Status st = (*s)->Eval(std::span<const int32_t>(&tok, 1)); !st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return false;
    }
  }
  out->tokens_per_s = double(n) / Seconds(t1);
  const MappedFile& f = (*model)->file();
  if (auto b = f.MeasureHugePageBytes()) out->huge_mib = (long long)(*b >> 20);
  out->file_mib = (long long)(f.size() >> 20);
  out->refaulted = f.refaulted();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string path = Arg(argc, argv, "-m", "");
  if (path.empty()) {
    std::fprintf(stderr, "usage: bench_weight_pages -m MODEL [-n 64] [-r 5] [-t 0]\n");
    return 2;
  }
  const size_t n = std::max(1ul, std::strtoul(Arg(argc, argv, "-n", "64"), nullptr, 10));
  const int reps = std::max(1, std::atoi(Arg(argc, argv, "-r", "5")));
  const int threads = std::atoi(Arg(argc, argv, "-t", "0"));
  std::printf(
      "model %s, %zu decode steps, %d repetitions; baseline: file cached in small folios, loaded "
      "with huge pages 'advise'\n%-4s %-8s %10s %8s %18s\n",
      path.c_str(), n, reps, "rep", "pages", "tok/s", "load s", "2 MiB-mapped MiB");
  std::vector<double> small, huge, ratio;
  for (int r = 0; r < reps; ++r) {
    Run runs[2];
    for (int k = 0; k < 2; ++k) {
      const int which = (r + k) % 2;  // 0: baseline (advise), 1: refault; order alternates
      if (!DecodeOnce(path, which ? HugePages::kRefault : HugePages::kAdvise, n, threads,
                      &runs[which]))
        return 1;
      const Run& x = runs[which];
      std::printf("%-4d %-8s %10.2f %8.2f %10lld of %lld%s\n", r, which ? "refault" : "advise",
                  x.tokens_per_s, x.load_s, x.huge_mib, x.file_mib,
                  x.refaulted ? " (read in again)" : "");
      std::fflush(stdout);
    }
    small.push_back(runs[0].tokens_per_s);
    huge.push_back(runs[1].tokens_per_s);
    ratio.push_back(runs[1].tokens_per_s / runs[0].tokens_per_s);
  }
  const Stats s = Summarize(small), h = Summarize(huge), q = Summarize(ratio);
  std::printf(
      "4 KiB pages (advise):  %.2f tok/s (%.2f..%.2f)\n2 MiB pages (refault): %.2f tok/s "
      "(%.2f..%.2f)\n"
      "ratio: %.2fx (%.2f..%.2f)\n",
      s.median, s.min, s.max, h.median, h.min, h.max, q.median, q.min, q.max);
  return 0;
}
