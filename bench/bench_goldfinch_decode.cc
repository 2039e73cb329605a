// GoldFinch decode speed at depth against a Llama of the same width and depth, in one run
// (issue 20, item 4): decode tokens/s after a context of D tokens for
//   GoldFinch, rebuild   no speed cache: every step rebuilds every GOLD layer's cached keys and
//                        values from the TokenCat cache (the default)
//   GoldFinch, dense     the GOLD key/value speed cache (--gold-kv-cache), dense attention
//   GoldFinch, ice       IceFormer kNN attention on the GOLD layers (over the speed cache)
//   Llama, dense / ice   the Llama of the same D and L (floe make-model --arch llama)
// Each model's context is prefilled once with its ice state (kNone, chunks of -b), deepening
// from depth to depth. At each depth the state is saved and restored into the other variants'
// states; each variant makes one untimed step (a restored GoldFinch state rebuilds its speed
// cache there, a fresh index is filled from the keys) and then -n timed steps (--rebuild-steps
// for the rebuild variant). The ice states then go on to the next depth from there, so a depth's
// ice figures start after depth + 1 tokens. GoldFinch weights are random (-shape preset), the
// Llama is the file given.
//
// usage: bench_goldfinch_decode --llama FILE [--shape small] [--type f16] [-d 1024,16384,65536]
//                               [-n 8] [--rebuild-steps 2] [-t 0] [-b 256] [--kv f16]
//                               [--models goldfinch,llama]   (one of them: the other's columns 0)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "models/goldfinch/goldfinch_model.h"
#include "models/goldfinch/goldfinch_random.h"
#include "platform/base/cpu_features.h"
#include "runtime/engine/model.h"

using namespace floe;
using namespace floe::bench;

namespace {

int Fail(const Status& s) { return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1; }

int32_t TokenAt(size_t pos, size_t vocab) { return int32_t((pos * 7919 + 13) % vocab); }

// One variant's figures at one depth.
struct Figure {
  double tok_s = 0, first_step_s = 0;
  size_t state_bytes = 0;
};

// One untimed step (its time returned in first_step_s), then n timed steps, on state s.
Status Decode(const CausalLm& lm, SequenceState& s, size_t n, ThreadContext& threads,
              Figure* f) {
  std::vector<float> logits(lm.vocab_size());
  auto step = [&] {
    const int32_t t = TokenAt(s.position(), lm.vocab_size());
    return lm.Forward(s, std::span<const int32_t>(&t, 1), LogitsMode::kLast, logits.data(),
                      threads, nullptr);
  };
  auto t0 = std::chrono::steady_clock::now();
  FLOE_RETURN_IF_ERROR(step());
  f->first_step_s = Seconds(t0);
  t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; ++i) FLOE_RETURN_IF_ERROR(step());
  f->tok_s = n ? double(n) / Seconds(t0) : 0.0;
  f->state_bytes = s.memory_bytes();
  return Status::Ok();
}

struct Variant {
  std::string name;
  StateOptions options;
  size_t steps = 0;
};

// Prefills `fill` (an ice state) to each depth and decodes every variant there; figures[v][d].
Status RunModel(const char* label, const CausalLm& lm, const StateOptions& ice,
                const std::vector<Variant>& restored, const std::vector<size_t>& depths,
                size_t steps, size_t batch, ThreadContext& threads,
                std::vector<std::vector<Figure>>* figures) {
  FLOE_ASSIGN_OR_RETURN(auto fill, lm.NewState(ice));
  figures->assign(restored.size() + 1, std::vector<Figure>(depths.size()));
  std::vector<int32_t> chunk;
  for (size_t d = 0; d < depths.size(); ++d) {
    const auto tp = std::chrono::steady_clock::now();
    while (fill->position() < depths[d]) {
      const size_t n = std::min(batch, depths[d] - fill->position());
      chunk.resize(n);
      for (size_t i = 0; i < n; ++i) chunk[i] = TokenAt(fill->position() + i, lm.vocab_size());
      FLOE_RETURN_IF_ERROR(lm.Forward(*fill, chunk, LogitsMode::kNone, nullptr, threads, nullptr));
    }
    std::printf("%s: prefilled to %zu (ice) in %.1f s\n", label, fill->position(), Seconds(tp));
    std::fflush(stdout);
    std::vector<uint8_t> saved;
    FLOE_RETURN_IF_ERROR(fill->Save(&saved));
    for (size_t v = 0; v < restored.size(); ++v) {
      FLOE_ASSIGN_OR_RETURN(auto s, lm.NewState(restored[v].options));
      FLOE_RETURN_IF_ERROR(s->Restore(saved));
      Figure& f = (*figures)[v][d];
      FLOE_RETURN_IF_ERROR(Decode(lm, *s, restored[v].steps, threads, &f));
      std::printf("  %s %-8s d%-6zu %8.2f tok/s (first step %.2f s, state %.1f MiB)\n", label,
                  restored[v].name.c_str(), depths[d], f.tok_s, f.first_step_s,
                  f.state_bytes / 1048576.0);
      std::fflush(stdout);
    }
    Figure& f = (*figures)[restored.size()][d];
    FLOE_RETURN_IF_ERROR(Decode(lm, *fill, steps, threads, &f));
    std::printf("  %s %-8s d%-6zu %8.2f tok/s (first step %.2f s, state %.1f MiB)\n", label,
                "ice", depths[d], f.tok_s, f.first_step_s, f.state_bytes / 1048576.0);
    std::fflush(stdout);
  }
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string llama_path = Arg(argc, argv, "--llama", "");
  const std::string models = Arg(argc, argv, "--models", "goldfinch,llama");
  const bool run_gf = models.find("goldfinch") != std::string::npos;
  const bool run_llama = models.find("llama") != std::string::npos;
  if (llama_path.empty()) {
    std::fprintf(stderr,
                 "usage: bench_goldfinch_decode --llama FILE [--shape small] [--type f16] "
                 "[-d 1024,16384,65536] [-n 8] [--rebuild-steps 2] [-t 0] [-b 256] [--kv f16]\n");
    return 2;
  }
  const std::string shape = Arg(argc, argv, "--shape", "small");
  const std::string type = Arg(argc, argv, "--type", "f16");
  auto depths = List(Arg(argc, argv, "-d", "1024,16384,65536"));
  std::sort(depths.begin(), depths.end());
  const size_t steps = std::strtoull(Arg(argc, argv, "-n", "8"), nullptr, 10);
  const size_t rebuild_steps = std::strtoull(Arg(argc, argv, "--rebuild-steps", "2"), nullptr, 10);
  const size_t batch = std::strtoull(Arg(argc, argv, "-b", "256"), nullptr, 10);
  ThreadContext threads(std::atoi(Arg(argc, argv, "-t", "0")));
  StateOptions base;
  base.max_batch = batch;
  base.kv_dtype = std::string(Arg(argc, argv, "--kv", "f16")) == "f32" ? DType::kF32 : DType::kF16;
  base.context_length = depths.back() + 2 * (steps + rebuild_steps + 2) * depths.size();

  auto llama = Model::Load(llama_path);
  if (!llama.ok()) return Fail(llama.status());
  const CausalLm& ll = (*llama)->lm();
  const DType dt = type == "f32" ? DType::kF32 : type == "bf16" ? DType::kBF16 : DType::kF16;
  auto preset = GoldfinchPresetShape(shape);
  if (!preset.ok()) return Fail(preset.status());
  auto random = MakeRandomGoldfinch(*preset, 42, dt);
  if (!random.ok()) return Fail(random.status());
  auto net = BindGoldfinch((*random)->tensors, nullptr);
  if (!net.ok()) return Fail(net.status());
  auto made = GoldfinchModel::Create(std::move(net).value());
  if (!made.ok()) return Fail(made.status());
  const GoldfinchModel& gf = **made;
  const GoldfinchConfig& c = gf.config();

  StateOptions ice = base;
  ice.attention.backend = AttentionBackend::kIce;
  StateOptions cached = base;
  cached.attention.gold_kv_cache = true;
  const AttentionSettings& a = ice.attention;
  std::printf(
      "GoldFinch '%s' (random, %s): L %zu (GOLD from %zu), D %zu, vocab %zu | Llama %s (%s, "
      "vocab %zu) | threads %d | kv %s | chunk %zu | %s\n"
      "ice: k %zu, window %zu, sinks %zu, dense_below %zu, DCI levels %zu, search block %zu\n"
      "bytes per token: GoldFinch TokenCat %zu, GOLD speed cache %zu (f32); Llama KV %zu "
      "(2 x L x D x %s)\n",
      shape.c_str(), type.c_str(), c.n_layer, c.first_gold_layer, c.n_embd, c.vocab_size,
      llama_path.c_str(), (*llama)->architecture().c_str(), ll.vocab_size(),
      threads.num_threads(), DTypeName(base.kv_dtype), batch,
      DescribeCpu(DetectCpuFeatures()).c_str(), a.k, a.window, a.sinks, a.dense_below,
      a.dci.levels, a.search_block, gf.cache_bytes_per_token(base.kv_dtype),
      gf.speed_cache_bytes_per_token(),
      2 * c.n_layer * c.n_embd * DTypeBytes(base.kv_dtype, 1), DTypeName(base.kv_dtype));
  std::fflush(stdout);

  std::vector<std::vector<Figure>> g(3, std::vector<Figure>(depths.size())),
      l(2, std::vector<Figure>(depths.size()));
  if (run_gf)
    if (Status st = RunModel("goldfinch", gf, ice,
                             {{"rebuild", base, rebuild_steps}, {"dense", cached, steps}}, depths,
                             steps, batch, threads, &g);
        !st.ok())
      return Fail(st);
  if (run_llama)
    if (Status st = RunModel("llama", ll, ice, {{"dense", base, steps}}, depths, steps, batch,
                             threads, &l);
        !st.ok())
      return Fail(st);

  std::printf("\n| depth | GoldFinch rebuild | GoldFinch dense (speed cache) | GoldFinch ice | "
              "Llama dense | Llama ice | state MiB: GoldFinch rebuild / dense / ice | "
              "Llama dense / ice |\n|---|---|---|---|---|---|---|---|\n");
  for (size_t d = 0; d < depths.size(); ++d)
    std::printf("| %zu | %.2f | %.2f | %.2f | %.2f | %.2f | %.1f / %.1f / %.1f | %.1f / %.1f |\n",
                depths[d], g[0][d].tok_s, g[1][d].tok_s, g[2][d].tok_s, l[0][d].tok_s,
                l[1][d].tok_s, g[0][d].state_bytes / 1048576.0, g[1][d].state_bytes / 1048576.0,
                g[2][d].state_bytes / 1048576.0, l[0][d].state_bytes / 1048576.0,
                l[1][d].state_bytes / 1048576.0);
  std::printf(
      "(decode tok/s over %zu steps (rebuild: %zu) after one untimed step; one run; state = "
      "memory_bytes() after the steps: caches at their capacity, scratch, kNN index)\n",
      steps, rebuild_steps);
  return 0;
}
