// IceFormer kNN attention vs dense attention, side by side in one run (issue 5's speed table).
//
//   decode @ depth D   a context of D tokens is prefilled once (dense, not timed) and saved;
//                      that state is restored into a dense and an ice session (the ice index is
//                      rebuilt from the keys, which gives the index streaming would have
//                      built), and each repetition times -n decode steps from a fork of it;
//                      the two backends' repetitions alternate, and the ratio is the median
//                      of the adjacent pairs' ratios.
//   prefill P          a P-token prompt from an empty context, dense and ice (-rp repetitions).
//
// Medians of the repetitions, ratio ice/dense (speed-up), the ice index bytes and the
// process's peak RSS (VmHWM, reset before each measurement where the kernel allows it).
// Long contexts are costly to prefill: --state-dir DIR keeps the prefilled states as files
// (DIR/<model file>-<kv>-d<D>.state) so that later runs skip the prefill. --fill ice prefills
// the contexts with ice attention instead (faster at 32k; the keys then differ from a dense
// run's, which changes nothing for timing: both backends decode from the same state; the file
// name says "-ice").
//
// usage: bench_ice -m MODEL [-d 4096,16384,32768] [-p 16384] [-n 16] [-r 3] [-rp 1] [-t 0]
//                  [--kv f16|f32] [--batch 256] [--state-dir DIR] [--fill dense|ice]
//                  [--knn-k 32] [--knn-window 256] [--knn-candidates C] [--knn-composite L]
//                  [--knn-simple M] [--knn-levels N] [--knn-fanout F] [--only dense|ice]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "platform/base/cpu_features.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

using namespace floe;
using namespace floe::bench;

namespace {

std::vector<int32_t> Tokens(size_t begin, size_t n, size_t vocab) {
  std::vector<int32_t> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = int32_t(3 + ((begin + i) * 7919) % (vocab - 3));
  return t;
}

bool ReadFile(const std::string& path, std::vector<uint8_t>* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return bool(f) || f.eof();
}

bool WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    if (!f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size())))
      return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

double MiB(size_t b) { return double(b) / (1024.0 * 1024.0); }

int Fail(const Status& st) {
  std::fprintf(stderr, "bench_ice: %s\n", st.ToString().c_str());
  return 1;
}

struct DecodeRow {
  size_t depth = 0;
  Stats dense, ice;
  Stats ratio;  // of ice to dense in each pair of adjacent repetitions
  double ice_restore_s = 0;
  size_t dense_state = 0, ice_state = 0, rss = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string model_path = Arg(argc, argv, "-m", "");
  if (model_path.empty()) {
    std::fprintf(
        stderr,
        "usage: bench_ice -m MODEL [-d 4096,16384,32768] [-p 16384] [-n 16] [-r 3] [-rp 1]\n"
        "                 [-t 0] [--kv f16|f32] [--batch 256] [--state-dir DIR] [--only "
        "dense|ice]\n"
        "                 [--knn-k K] [--knn-window W] [--knn-candidates C] [--knn-composite L] "
        "[--knn-simple M]\n"
        "                 [--knn-search-block B] [--knn-search-scale X] [--knn-levels N] "
        "[--knn-fanout F]\n");
    return 2;
  }
  const std::vector<size_t> depths = List(Arg(argc, argv, "-d", "4096,16384,32768"));
  const std::vector<size_t> prompts = List(Arg(argc, argv, "-p", ""));
  const size_t n_gen = std::strtoul(Arg(argc, argv, "-n", "16"), nullptr, 10);
  const int reps = std::max(1, std::atoi(Arg(argc, argv, "-r", "3")));
  const int prefill_reps = std::max(1, std::atoi(Arg(argc, argv, "-rp", "1")));
  const std::string state_dir = Arg(argc, argv, "--state-dir", "");
  const std::string only = Arg(argc, argv, "--only", "");
  const bool fill_ice = std::string(Arg(argc, argv, "--fill", "dense")) == "ice";
  const bool run_dense = only != "ice", run_ice = only != "dense";

  SessionParams dense;
  dense.threads = std::atoi(Arg(argc, argv, "-t", "0"));
  dense.kv_dtype = std::string(Arg(argc, argv, "--kv", "f16")) == "f32" ? DType::kF32 : DType::kF16;
  dense.batch = std::strtoul(Arg(argc, argv, "--batch", "256"), nullptr, 10);
  SessionParams ice = dense;
  ice.attention.backend = AttentionBackend::kIce;
  AttentionSettings& a = ice.attention;
  a.k = std::strtoul(Arg(argc, argv, "--knn-k", std::to_string(a.k).c_str()), nullptr, 10);
  a.window =
      std::strtoul(Arg(argc, argv, "--knn-window", std::to_string(a.window).c_str()), nullptr, 10);
  a.dci.candidates_per_k = std::strtoul(
      Arg(argc, argv, "--knn-candidates", std::to_string(a.dci.candidates_per_k).c_str()), nullptr,
      10);
  a.dci.composite_indices = std::strtoul(
      Arg(argc, argv, "--knn-composite", std::to_string(a.dci.composite_indices).c_str()), nullptr,
      10);
  a.dci.simple_indices = std::strtoul(
      Arg(argc, argv, "--knn-simple", std::to_string(a.dci.simple_indices).c_str()), nullptr, 10);
  a.dci.levels = std::strtoul(Arg(argc, argv, "--knn-levels", std::to_string(a.dci.levels).c_str()),
                              nullptr, 10);
  a.dci.fanout = std::strtoul(Arg(argc, argv, "--knn-fanout", std::to_string(a.dci.fanout).c_str()),
                              nullptr, 10);
  a.search_block = std::strtoul(
      Arg(argc, argv, "--knn-search-block", std::to_string(a.search_block).c_str()), nullptr, 10);
  a.search_scale = std::strtof(
      Arg(argc, argv, "--knn-search-scale", std::to_string(a.search_scale).c_str()), nullptr);

  auto model = Model::Load(model_path, LoadOptions());
  if (!model.ok()) return Fail(model.status());
  const Model& m = **model;
  const size_t vocab = m.lm().vocab_size();
  size_t longest = 0;
  for (size_t d : depths) longest = std::max(longest, d + n_gen);
  for (size_t p : prompts) longest = std::max(longest, p);
  if (longest > m.lm().context_length()) {
    std::fprintf(stderr, "bench_ice: %zu tokens exceed the model's context %zu\n", longest,
                 m.lm().context_length());
    return 2;
  }
  dense.context_length = ice.context_length = longest;

  ThreadContext probe(dense.threads);
  std::printf("model %s | %.2f GB weights | threads %d | kv %s | batch %zu | %s\n",
              model_path.c_str(), double(m.weight_bytes()) / 1e9, probe.num_threads(),
              DTypeName(dense.kv_dtype), dense.batch, DescribeCpu(DetectCpuFeatures()).c_str());
  std::printf(
      "ice: k %zu, window %zu, sinks %zu, dense_below %zu, DCI m %zu L %zu, %zu candidates per "
      "composite, "
      "%zu level(s) (fanout %zu), search block %zu x %.2f\n",
      a.k, a.window, a.sinks, a.dense_below, a.dci.simple_indices, a.dci.composite_indices,
      a.k * a.dci.candidates_per_k, a.dci.levels, a.dci.fanout, a.search_block,
      double(a.search_scale));
  std::fflush(stdout);

  // ---- decode at depth ----
  std::vector<size_t> sorted = depths;
  std::sort(sorted.begin(), sorted.end());
  std::vector<DecodeRow> rows;
  std::unique_ptr<Session> base;  // dense, extended from depth to depth
  const std::string model_name = model_path.substr(model_path.find_last_of('/') + 1);
  for (size_t depth : sorted) {
    if (depth == 0) continue;
    std::vector<uint8_t> state;
    const std::string file =
        state_dir.empty() ? ""
                          : state_dir + "/" + model_name + "-" + DTypeName(dense.kv_dtype) + "-d" +
                                std::to_string(depth) + (fill_ice ? "-ice" : "") + ".state";
    const auto tp = std::chrono::steady_clock::now();
    // With --fill ice, a dense-filled state of the same depth serves as well.
    std::string loaded = file;
    bool have = !file.empty() && ReadFile(file, &state);
    if (!have && fill_ice && !file.empty()) {
      loaded = file.substr(0, file.size() - std::strlen("-ice.state")) + ".state";
      have = ReadFile(loaded, &state);
    }
    if (!have) {
      if (!base) {
        auto s = Session::Create(m, fill_ice ? ice : dense);
        if (!s.ok()) return Fail(s.status());
        base = std::move(s).value();
      }
      const size_t at = base->position();
      if (Status st = base->Eval(Tokens(at, depth - at, vocab)); !st.ok()) return Fail(st);
      if (Status st = base->SaveState(&state); !st.ok()) return Fail(st);
      if (!file.empty() && !WriteFile(file, state))
        std::fprintf(stderr, "bench_ice: could not write %s (continuing)\n", file.c_str());
      std::printf("prefilled depth %zu (%s) in %.1f s\n", depth, fill_ice ? "ice" : "dense",
                  Seconds(tp));
    } else {
      base.reset();  // a later, deeper state is prefilled from this one
      auto s = Session::Create(m, fill_ice ? ice : dense);
      if (!s.ok()) return Fail(s.status());
      base = std::move(s).value();
      if (Status st = base->RestoreState(state); !st.ok()) return Fail(st);
      std::printf("loaded depth %zu from %s\n", depth, loaded.c_str());
    }
    std::fflush(stdout);
    DecodeRow row;
    row.depth = depth;
    const auto next = Tokens(depth, n_gen, vocab);
    // Both backends restored, then their repetitions alternate (dense, ice, ice, dense, ...):
    // each pair runs within seconds, so the per-pair ratio sees one machine state (this VM's
    // memory bandwidth drifts by tens of percent over minutes).
    std::unique_ptr<Session> sessions[2];
    for (int which = 0; which < 2; ++which) {
      if ((which == 0 && !run_dense) || (which == 1 && !run_ice)) continue;
      auto s = Session::Create(m, which == 0 ? dense : ice);
      if (!s.ok()) return Fail(s.status());
      const auto t0 = std::chrono::steady_clock::now();
      if (Status st = (*s)->RestoreState(state); !st.ok()) return Fail(st);
      if (which == 1) row.ice_restore_s = Seconds(t0);
      sessions[which] = std::move(s).value();
    }
    std::vector<uint8_t>().swap(state);
    if (depth == sorted.back()) base.reset();  // nothing deeper to prefill from it
    ResetPeakRss();
    std::vector<double> v[2], ratios;
    for (int r = -1; r < reps; ++r) {  // r = -1: an untimed warm-up of each backend
      double tok_s[2] = {0, 0};
      for (int i = 0; i < 2; ++i) {
        const int which = (i == 0) == (r % 2 == 0) ? 0 : 1;  // dense first in even repetitions
        if (!sessions[which]) continue;
        auto f = sessions[which]->Fork();
        if (!f.ok()) return Fail(f.status());
        const auto t1 = std::chrono::steady_clock::now();
        for (size_t j = 0; j < n_gen; ++j)
          if (Status st = (*f)->Eval(std::span<const int32_t>(&next[j], 1)); !st.ok())
            return Fail(st);
        tok_s[which] = double(n_gen) / Seconds(t1);
        if (r < 0) continue;
        v[which].push_back(tok_s[which]);
        if (r == 0) (which == 0 ? row.dense_state : row.ice_state) = (*f)->state_bytes();
      }
      if (r < 0) continue;
      if (tok_s[0] > 0 && tok_s[1] > 0) ratios.push_back(tok_s[1] / tok_s[0]);
      std::printf("    d%zu rep %d: dense %7.2f ice %7.2f tok/s\n", depth, r + 1, tok_s[0],
                  tok_s[1]);
    }
    if (!v[0].empty()) row.dense = Summarize(v[0]);
    if (!v[1].empty()) row.ice = Summarize(v[1]);
    if (!ratios.empty()) row.ratio = Summarize(ratios);
    row.rss = PeakRss();
    std::printf(
        "  d%-6zu dense %7.2f tok/s  ice %7.2f tok/s  ice/dense %5.2fx (pairs %.2f..%.2f)\n", depth,
        row.dense.median, row.ice.median, row.ratio.median, row.ratio.min, row.ratio.max);
    std::fflush(stdout);
    rows.push_back(row);
  }
  base.reset();

  // ---- prefill ----
  struct PrefillRow {
    size_t n = 0;
    Stats dense, ice;
    size_t dense_rss = 0, ice_rss = 0, ice_state = 0, dense_state = 0;
  };
  std::vector<PrefillRow> prows;
  for (size_t n : prompts) {
    if (n == 0) continue;  // "-p 0": no prefill rows
    PrefillRow row;
    row.n = n;
    const auto prompt = Tokens(0, n, vocab);
    for (int which = 0; which < 2; ++which) {
      if ((which == 0 && !run_dense) || (which == 1 && !run_ice)) continue;
      std::vector<double> v;
      ResetPeakRss();
      for (int r = 0; r < prefill_reps; ++r) {
        auto s = Session::Create(m, which == 0 ? dense : ice);
        if (!s.ok()) return Fail(s.status());
        const auto t0 = std::chrono::steady_clock::now();
        if (Status st = (*s)->Eval(prompt); !st.ok()) return Fail(st);
        v.push_back(Seconds(t0));
        (which == 0 ? row.dense_state : row.ice_state) = (*s)->state_bytes();
      }
      (which == 0 ? row.dense : row.ice) = Summarize(v);
      (which == 0 ? row.dense_rss : row.ice_rss) = PeakRss();
      std::printf("  pp%zu %s %.1f s\n", n, which == 0 ? "dense" : "ice",
                  (which == 0 ? row.dense : row.ice).median);
      std::fflush(stdout);
    }
    prows.push_back(row);
  }

  // State MiB: one session's KV cache + scratch (+ the kNN index). RSS: the whole process
  // while decoding, which holds both restored sessions, one fork and (but at the last depth)
  // the prefilled base session.
  std::printf("\n%-10s %12s %12s %8s %12s %14s %14s %14s %14s\n", "decode", "dense tok/s",
              "ice tok/s", "ice/dns", "pair range", "ice rebuild s", "dense st MiB", "ice st MiB",
              "peak RSS MiB");
  for (const DecodeRow& r : rows)
    std::printf("%-10s %12.2f %12.2f %7.2fx %5.2f-%5.2fx %14.2f %14.1f %14.1f %14.1f\n",
                ("d" + std::to_string(r.depth)).c_str(), r.dense.median, r.ice.median,
                r.ratio.median, r.ratio.min, r.ratio.max, r.ice_restore_s, MiB(r.dense_state),
                MiB(r.ice_state), MiB(r.rss));
  if (!prows.empty()) {
    std::printf("\n%-10s %12s %12s %8s %14s %14s %14s %14s\n", "prefill", "dense s", "ice s",
                "dns/ice", "dense st MiB", "ice st MiB", "dense RSS MiB", "ice RSS MiB");
    for (const PrefillRow& r : prows)
      std::printf("%-10s %12.2f %12.2f %7.2fx %14.1f %14.1f %14.1f %14.1f\n",
                  ("pp" + std::to_string(r.n)).c_str(), r.dense.median, r.ice.median,
                  r.ice.median > 0 ? r.dense.median / r.ice.median : 0.0, MiB(r.dense_state),
                  MiB(r.ice_state), MiB(r.dense_rss), MiB(r.ice_rss));
  }
  std::printf(
      "(decode: medians of %d x %zu steps from forks of one prefilled state, the backends' "
      "repetitions "
      "alternating; ice/dns: median of the adjacent pairs' ratios; prefill: median of %d)\n",
      reps, n_gen, prefill_reps);
  return 0;
}
