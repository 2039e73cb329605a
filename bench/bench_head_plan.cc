// Per-head attention plans vs dense and uniform IceFormer attention at depth, side by side in
// one run (issue 23, "what it must show" 2: cost on random-weight presets).
//
// A context of D tokens is prefilled once (--fill dense|ice; the keys of random weights matter
// only for timing) and saved (--state-dir keeps it as a file for later runs). That state is
// restored into a dense session, an ice session (index rebuilt from the keys) and a session with
// the head plan (a plain state continued under a plan: each head keeps what its mode needs).
// Each repetition forks each session and times -n decode steps; the three alternate, so drift
// of the machine hits all of them. Reported: the cache bytes (KV rows, kNN indexes; no
// scratch), the whole state, decode tok/s (median) and the ratios to dense.
//
// The plan: --plan FILE, or --mix (default): by (layer * n_kv_heads + head) mod 4, heads 0 and 1
// a window of --window keys, head 2 knn with the ice defaults, head 3 dense (written with -o).
//
// usage: bench_head_plan -m MODEL [-d 32768] [-n 16] [-r 3] [-t 0] [--kv f16|f32]
//                        [--batch 256] [--fill dense|ice] [--state-dir DIR]
//                        [--plan FILE | --window 64] [-o plan.json]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "platform/base/cpu_features.h"
#include "runtime/engine/head_plan_json.h"
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

double MiB(size_t b) { return double(b) / (1024.0 * 1024.0); }

int Fail(const Status& st) {
  std::fprintf(stderr, "bench_head_plan: %s\n", st.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string model_path = Arg(argc, argv, "-m", "");
  if (model_path.empty()) {
    std::fprintf(stderr,
                 "usage: bench_head_plan -m MODEL [-d 32768] [-n 16] [-r 3] [-t 0] [--kv f16|f32] "
                 "[--batch 256] [--fill dense|ice] [--state-dir DIR] [--plan FILE | --window 64] "
                 "[-o plan.json]\n");
    return 2;
  }
  const size_t depth = std::strtoull(Arg(argc, argv, "-d", "32768"), nullptr, 10);
  const size_t n_gen = std::strtoull(Arg(argc, argv, "-n", "16"), nullptr, 10);
  const int reps = std::max(1, std::atoi(Arg(argc, argv, "-r", "3")));
  const int threads = std::atoi(Arg(argc, argv, "-t", "0"));
  const bool f16 = std::string(Arg(argc, argv, "--kv", "f16")) == "f16";
  const size_t batch = std::strtoull(Arg(argc, argv, "--batch", "256"), nullptr, 10);
  const bool fill_ice = std::string(Arg(argc, argv, "--fill", "ice")) == "ice";
  const std::string state_dir = Arg(argc, argv, "--state-dir", "");
  const std::string plan_path = Arg(argc, argv, "--plan", "");
  const size_t window = std::strtoull(Arg(argc, argv, "--window", "64"), nullptr, 10);
  const std::string out_path = Arg(argc, argv, "-o", "");

  auto loaded = Model::Load(model_path);
  if (!loaded.ok()) return Fail(loaded.status());
  const Model& m = **loaded;
  const size_t vocab = m.lm().vocab_size();

  HeadPlan plan;
  if (!plan_path.empty()) {
    auto p = LoadHeadPlanFile(plan_path);
    if (!p.ok()) return Fail(p.status());
    plan = *p;
  } else {
    const GgufFile* g = m.gguf();
    if (!g) return Fail(InvalidArgument("--mix needs a GGUF model (layer and head counts)"));
    const std::string arch = m.lm().architecture();
    auto layers = g->GetInt(arch + ".block_count");
    auto kv = g->GetInt(arch + ".attention.head_count_kv");
    if (!kv.ok()) kv = g->GetInt(arch + ".attention.head_count");
    if (!layers.ok()) return Fail(layers.status());
    if (!kv.ok()) return Fail(kv.status());
    for (size_t i = 0; i < size_t(*layers * *kv); ++i) {
      HeadSpec s;
      if (i % 4 < 2) s = {HeadMode::kWindow, 32, window, 4};
      if (i % 4 == 2) s = {HeadMode::kKnn, 32, 256, 4};
      plan.heads.push_back({i / size_t(*kv), i % size_t(*kv), s});
    }
  }
  if (!out_path.empty()) {
    std::ofstream out(out_path);
    out << HeadPlanToJson(plan, {{"tool", "\"bench_head_plan --mix\""}});
  }

  SessionParams dense;
  dense.threads = threads;
  dense.kv_dtype = f16 ? DType::kF16 : DType::kF32;
  dense.batch = batch;
  dense.context_length = depth + size_t(reps + 1) * n_gen + 1;
  SessionParams ice = dense;
  ice.attention.backend = AttentionBackend::kIce;
  SessionParams planned = dense;
  planned.head_plan = plan;
  std::printf("model %s | depth %zu | kv %s | %s\n", model_path.c_str(), depth, f16 ? "f16" : "f32",
              DescribeCpu(DetectCpuFeatures()).c_str());

  // ---- the context, prefilled once (or read from --state-dir) ----
  std::vector<uint8_t> state;
  const std::string model_name = model_path.substr(model_path.find_last_of('/') + 1);
  const std::string file =
      state_dir.empty() ? ""
                        : state_dir + "/" + model_name + "-" + (f16 ? "f16" : "f32") + "-d" +
                              std::to_string(depth) + (fill_ice ? "-ice" : "") + ".state";
  bool have = false;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (in) {
      state.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      have = !state.empty();
    }
  }
  if (!have) {
    const auto t0 = std::chrono::steady_clock::now();
    auto s = Session::Create(m, fill_ice ? ice : dense);
    if (!s.ok()) return Fail(s.status());
    if (Status st = (*s)->Eval(Tokens(0, depth, vocab)); !st.ok()) return Fail(st);
    if (Status st = (*s)->SaveState(&state); !st.ok()) return Fail(st);
    std::printf("prefilled depth %zu (%s) in %.1f s\n", depth, fill_ice ? "ice" : "dense",
                Seconds(t0));
    if (!file.empty()) {
      std::ofstream out(file, std::ios::binary);
      out.write(reinterpret_cast<const char*>(state.data()), std::streamsize(state.size()));
    }
  } else {
    std::printf("loaded depth %zu from %s\n", depth, file.c_str());
  }
  std::fflush(stdout);

  const char* names[3] = {"dense", "ice (uniform defaults)", "head plan"};
  const SessionParams* params[3] = {&dense, &ice, &planned};
  std::unique_ptr<Session> sessions[3];
  double restore_s[3] = {};
  for (int c = 0; c < 3; ++c) {
    auto s = Session::Create(m, *params[c]);
    if (!s.ok()) return Fail(s.status());
    const auto t0 = std::chrono::steady_clock::now();
    if (Status st = (*s)->RestoreState(state); !st.ok()) return Fail(st);
    restore_s[c] = Seconds(t0);
    sessions[c] = std::move(s).value();
  }
  state.clear();
  state.shrink_to_fit();
  std::vector<double> tps[3];
  for (int r = 0; r < reps; ++r) {
    const auto next = Tokens(depth + size_t(r) * n_gen, n_gen, vocab);
    for (int c = 0; c < 3; ++c) {
      auto fork = sessions[c]->Fork();
      if (!fork.ok()) return Fail(fork.status());
      const auto t0 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < n_gen; ++i)
        if (Status st = (*fork)->Eval(std::span(next).subspan(i, 1)); !st.ok()) return Fail(st);
      tps[c].push_back(double(n_gen) / Seconds(t0));
    }
  }
  std::printf("%-24s %12s %12s %14s %12s %10s %10s\n", "attention", "cache MiB", "state MiB",
              "B/token", "decode tok/s", "x dense", "restore s");
  double base_tps = 0;
  for (int c = 0; c < 3; ++c) {
    std::sort(tps[c].begin(), tps[c].end());
    const double med = tps[c][tps[c].size() / 2];
    if (c == 0) base_tps = med;
    std::printf("%-24s %12.1f %12.1f %14.1f %12.2f %10.3f %10.1f\n", names[c],
                MiB(sessions[c]->cache_bytes()), MiB(sessions[c]->state_bytes()),
                double(sessions[c]->cache_bytes()) / double(depth), med, med / base_tps,
                restore_s[c]);
  }
  size_t counts[4] = {};
  for (const auto& e : plan.heads) ++counts[int(e.spec.mode) & 3];
  std::printf("plan: %zu dense, %zu knn, %zu window heads listed (default %s); decode -n %zu, "
              "median of %d, threads %d\n",
              counts[0], counts[1], counts[2], plan.default_spec.ToString().c_str(), n_gen, reps,
              sessions[0]->threads().num_threads());
  return 0;
}
