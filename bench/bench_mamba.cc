// Mamba prefill and decode: chunked prefill (matrix-matrix projections + the selective scan over
// each chunk) against the same prompt fed one token at a time, decode tokens/s, and peak RSS per
// prompt length (the state is fixed-size, so peak memory should not grow with the prompt).
// Median (min..max) of repeated runs; the baseline is measured in the same run.
//
// usage: bench_mamba (-m MODEL | --shape tiny|130m|370m|790m|1.4b|2.8b (the make-model presets)
//                     [--type f32|f16|bf16|q8_0|q4_0])
//                    [-p 1024,16384] [--serial-max 1024] [-n 64] [-r 3] [-t 0] [-b 64]
//   --serial-max caps the token-by-token baseline's prompt (its tokens/s does not depend on
//   the prompt length).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "bench/common/bench_util.h"
#include "bench/common/recurrent_prefill_bench.h"
#include "models/mamba/mamba_architecture.h"
#include "models/mamba/mamba_model.h"
#include "models/mamba/mamba_random.h"
#include "runtime/engine/model.h"

using namespace floe;
using namespace floe::bench;

int main(int argc, char** argv) {
  const std::string path = Arg(argc, argv, "-m", "");
  const std::string shape = Arg(argc, argv, "--shape", "tiny");
  const std::string type = Arg(argc, argv, "--type", "f32");
  const auto prompts = List(Arg(argc, argv, "-p", "1024,16384"));
  const size_t serial_max = std::strtoull(Arg(argc, argv, "--serial-max", "1024"), nullptr, 10);
  const size_t n_gen = std::strtoull(Arg(argc, argv, "-n", "64"), nullptr, 10);
  const int repeats = std::max(1, std::atoi(Arg(argc, argv, "-r", "3")));
  ThreadContext threads(std::atoi(Arg(argc, argv, "-t", "0")));
  StateOptions so;
  so.max_batch = std::strtoull(Arg(argc, argv, "-b", "64"), nullptr, 10);

  std::unique_ptr<Model> file_model;
  std::unique_ptr<RandomMamba> random;
  std::unique_ptr<MambaModel> random_lm;
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
    const DType dt = type == "f16"    ? DType::kF16
                     : type == "bf16" ? DType::kBF16
                     : type == "q8_0" ? DType::kQ8_0
                     : type == "q4_0" ? DType::kQ4_0
                                      : DType::kF32;
    auto preset = MambaPresetShape(shape);
    if (!preset.ok()) return std::fprintf(stderr, "%s\n", preset.status().ToString().c_str()), 1;
    auto r = MakeRandomMamba(*preset, 42, dt);
    if (!r.ok()) return std::fprintf(stderr, "%s\n", r.status().ToString().c_str()), 1;
    random = std::move(r).value();
    auto net = BindMamba(random->config, random->tensors, MambaAForm::kALog);
    if (!net.ok()) return std::fprintf(stderr, "%s\n", net.status().ToString().c_str()), 1;
    weight_bytes = net->weights.bytes;
    auto made = MambaModel::Create(std::move(net).value());
    if (!made.ok()) return std::fprintf(stderr, "%s\n", made.status().ToString().c_str()), 1;
    random_lm = std::move(made).value();
    lm = random_lm.get();
    what = "random Mamba '" + shape + "' (" + type + ")";
  }
  RecurrentBenchOptions o;
  o.prompts = prompts;
  o.serial_max = serial_max;
  o.n_gen = n_gen;
  o.repeats = repeats;
  o.state = so;
  return RunRecurrentPrefillBench(*lm, what, weight_bytes, o, threads);
}
