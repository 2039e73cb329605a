// RWKV-6 prefill and decode: chunked prefill (matrix-matrix projections + chunk-parallel WKV)
// against the same prompt fed one token at a time, decode tokens/s, and peak RSS per prompt
// length (the state is fixed-size, so peak memory should not grow with the prompt).
// Median (min..max) of repeated runs; the baseline is measured in the same run.
//
// usage: bench_rwkv6 (-m RWKV_CPP_FILE | --shape tiny|0b1|1b6|3b (the make-model presets) [--type
// f32|f16|bf16])
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

#include "bench/common/bench_util.h"
#include "bench/common/recurrent_prefill_bench.h"
#include "models/rwkv6/rwkv6_model.h"
#include "models/rwkv6/rwkv6_random.h"
#include "platform/base/cpu_features.h"
#include "models/rwkv6/rwkv6_architecture.h"
#include "runtime/engine/model.h"

using namespace floe;
using namespace floe::bench;

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
    auto preset = Rwkv6PresetShape(shape);
    if (!preset.ok()) return std::fprintf(stderr, "%s\n", preset.status().ToString().c_str()), 1;
    auto r = MakeRandomRwkv6(*preset, 42, dt);
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
  RecurrentBenchOptions o;
  o.prompts = prompts;
  o.serial_max = serial_max;
  o.n_gen = n_gen;
  o.repeats = repeats;
  o.state = so;
  return RunRecurrentPrefillBench(*lm, what, weight_bytes, o, threads);
}
