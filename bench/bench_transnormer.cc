// TransNormerLLM prefill and decode: Lightning chunked prefill (matrix-matrix projections + one
// Lightning block per chunk) against the same prompt fed one token at a time (the recurrent
// form), decode tokens/s, and peak RSS per prompt length (the state is H x d_k x d_v per layer,
// so peak memory should not grow with the prompt). Median (min..max) of repeated runs; the
// baseline is measured in the same run.
//
// usage: bench_transnormer (-m CHECKPOINT | --shape tiny|small|385m|1b [--type f32|f16|bf16])
//                          [-p 1024,16384] [--serial-max 1024] [-n 64] [-r 3] [-t 0] [-b 64]
//   -m loads pytorch_model.bin / model.safetensors with its config.json beside it.
//   --serial-max caps the token-by-token baseline's prompt (its tokens/s does not depend on
//   the prompt length, and on the 1b shape a long serial prefill would take hours).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "models/transnormer/transnormer_model.h"
#include "models/transnormer/transnormer_random.h"
#include "platform/base/cpu_features.h"
#include "bench/common/bench_util.h"
#include "bench/common/recurrent_prefill_bench.h"
#include "models/transnormer/transnormer_architecture.h"
#include "runtime/engine/model.h"

using namespace floe;
using namespace floe::bench;

int main(int argc, char** argv) {
  const std::string path = Arg(argc, argv, "-m", "");
  const std::string shape = Arg(argc, argv, "--shape", "small");
  const std::string type = Arg(argc, argv, "--type", "f16");
  const auto prompts = List(Arg(argc, argv, "-p", "1024,16384"));
  const size_t serial_max = std::strtoull(Arg(argc, argv, "--serial-max", "1024"), nullptr, 10);
  const size_t n_gen = std::strtoull(Arg(argc, argv, "-n", "64"), nullptr, 10);
  const int repeats = std::max(1, std::atoi(Arg(argc, argv, "-r", "3")));
  ThreadContext threads(std::atoi(Arg(argc, argv, "-t", "0")));
  StateOptions so;
  so.max_batch = std::strtoull(Arg(argc, argv, "-b", "64"), nullptr, 10);

  std::unique_ptr<Model> file_model;
  std::unique_ptr<RandomTransnormer> random;
  std::unique_ptr<TransnormerModel> random_lm;
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
    auto preset = TransnormerPresetShape(shape);
    if (!preset.ok()) return std::fprintf(stderr, "%s\n", preset.status().ToString().c_str()), 1;
    const TransnormerConfig config = *preset;
    auto r = MakeRandomTransnormer(config, 42, dt);
    if (!r.ok()) return std::fprintf(stderr, "%s\n", r.status().ToString().c_str()), 1;
    random = std::move(r).value();
    auto net = BindTransnormer(config, random->tensors);
    if (!net.ok()) return std::fprintf(stderr, "%s\n", net.status().ToString().c_str()), 1;
    auto made = TransnormerModel::Create(std::move(net).value());
    if (!made.ok()) return std::fprintf(stderr, "%s\n", made.status().ToString().c_str()), 1;
    random_lm = std::move(made).value();
    weight_bytes = random_lm->weight_bytes();
    lm = random_lm.get();
    what = "random TransNormerLLM '" + shape + "' (" + type + ")";
  }
  RecurrentBenchOptions o;
  o.prompts = prompts;
  o.serial_max = serial_max;
  o.n_gen = n_gen;
  o.repeats = repeats;
  o.state = so;
  return RunRecurrentPrefillBench(*lm, what, weight_bytes, o, threads);
}
