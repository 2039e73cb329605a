// GoldFinch decode speed at depth against a Llama of the same width and depth, in one run
// (issue 20, item 4): decode tokens/s after a context of D tokens for
//   GoldFinch, rebuild   no speed cache: every step rebuilds every GOLD layer's cached keys and
//                        values from the TokenCat cache (the default)
//   GoldFinch, dense     the GOLD key/value speed cache (--gold-kv-cache), dense attention
//   GoldFinch, ice       IceFormer kNN attention on the GOLD layers (over the speed cache)
//   Llama, dense / ice   the Llama of the same D and L (floe make-model --arch llama)
// Each model's context is prefilled once with its ice state (kNone, chunks of -b), deepening
// from depth to depth. At each depth the state is saved and restored into the other variants'
// states; each state makes one untimed step (a restored GoldFinch state rebuilds its speed
// cache there, a fresh index is filled from the keys), then -r rounds time -n steps of each
// (--rebuild-steps for the rebuild variant), the variants alternating within a round (the order
// reversed every other round): the median per variant. The ice states then go on to the next
// depth from there. GoldFinch weights are random (--shape preset), the Llama is the file given.
//
// usage: bench_goldfinch_decode --llama FILE [--shape small] [--type f16] [-d 1024,16384,65536]
//                               [-n 8] [-r 3] [--rebuild-steps 1] [-t 0] [-b 256] [--kv f16]
//                               [--models goldfinch,llama] [--llama-max-depth N]
// (--models: one of them only; --llama-max-depth: the Llama only at depths <= N; "-" in the table)
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
  double tok_s = 0, min = 0, max = 0, first_step_s = 0;
  size_t state_bytes = 0;
};

// n decode steps on state s (kLast each); returns the seconds they took.
Result<double> Steps(const CausalLm& lm, SequenceState& s, size_t n, ThreadContext& threads) {
  std::vector<float> logits(lm.vocab_size());
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < n; ++i) {
    const int32_t t = TokenAt(s.position(), lm.vocab_size());
    FLOE_RETURN_IF_ERROR(lm.Forward(s, std::span<const int32_t>(&t, 1), LogitsMode::kLast,
                                    logits.data(), threads, nullptr));
  }
  return Seconds(t0);
}

struct Variant {
  std::string name;
  StateOptions options;
  size_t steps = 0;
  size_t rounds = ~size_t{0};  // timed in the first `rounds` rounds only
};

// Prefills `fill` (an ice state) to each depth; there the state is saved and restored into each
// variant's state, every state makes one untimed step, and then `reps` rounds time each
// variant's steps in turn (the order reversed every other round), so that the variants of a
// round see the same machine state. figures[v][d], the ice state last.
Status RunModel(const char* label, const CausalLm& lm, const StateOptions& ice,
                const std::vector<Variant>& restored, const std::vector<size_t>& depths,
                size_t steps, size_t reps, size_t batch, ThreadContext& threads,
                std::vector<std::vector<Figure>>* figures) {
  FLOE_ASSIGN_OR_RETURN(auto fill, lm.NewState(ice));
  const size_t V = restored.size() + 1;
  figures->assign(V, std::vector<Figure>(depths.size()));
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
    std::vector<std::unique_ptr<SequenceState>> states;
    std::vector<SequenceState*> all;
    std::vector<size_t> n_steps, rounds;
    std::vector<std::string> names;
    for (const Variant& v : restored) {
      FLOE_ASSIGN_OR_RETURN(auto s, lm.NewState(v.options));
      FLOE_RETURN_IF_ERROR(s->Restore(saved));
      all.push_back(s.get());
      states.push_back(std::move(s));
      n_steps.push_back(v.steps);
      rounds.push_back(v.rounds);
      names.push_back(v.name);
    }
    all.push_back(fill.get());
    n_steps.push_back(steps);
    rounds.push_back(reps);
    names.push_back("ice");
    for (size_t v = 0; v < V; ++v) {  // the untimed first step (a restore's rebuilds)
      FLOE_ASSIGN_OR_RETURN((*figures)[v][d].first_step_s, Steps(lm, *all[v], 1, threads));
    }
    std::vector<std::vector<double>> tok_s(V);
    for (size_t r = 0; r < reps; ++r)
      for (size_t i = 0; i < V; ++i) {
        const size_t v = r % 2 == 0 ? i : V - 1 - i;
        if (n_steps[v] == 0 || r >= rounds[v]) continue;
        FLOE_ASSIGN_OR_RETURN(const double sec, Steps(lm, *all[v], n_steps[v], threads));
        tok_s[v].push_back(double(n_steps[v]) / sec);
      }
    for (size_t v = 0; v < V; ++v) {
      Figure& f = (*figures)[v][d];
      if (!tok_s[v].empty()) {
        const Stats st = Summarize(tok_s[v]);
        f.tok_s = st.median;
        f.min = st.min;
        f.max = st.max;
      }
      f.state_bytes = all[v]->memory_bytes();
      std::printf("  %s %-8s d%-6zu %8.2f tok/s (%.2f..%.2f; first step %.2f s, state %.1f MiB)\n",
                  label, names[v].c_str(), depths[d], f.tok_s, f.min, f.max, f.first_step_s,
                  f.state_bytes / 1048576.0);
    }
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
    std::fprintf(
        stderr,
        "usage: bench_goldfinch_decode --llama FILE [--shape small] [--type f16] "
        "[-d 1024,16384,65536] [-n 8] [-r 3] [--rebuild-steps 1] [-t 0] [-b 256] [--kv f16] "
        "[--models goldfinch,llama]\n");
    return 2;
  }
  const std::string shape = Arg(argc, argv, "--shape", "small");
  const std::string type = Arg(argc, argv, "--type", "f16");
  auto depths = List(Arg(argc, argv, "-d", "1024,16384,65536"));
  std::sort(depths.begin(), depths.end());
  const size_t steps = std::strtoull(Arg(argc, argv, "-n", "8"), nullptr, 10);
  const size_t rebuild_steps = std::strtoull(Arg(argc, argv, "--rebuild-steps", "1"), nullptr, 10);
  const size_t batch = std::strtoull(Arg(argc, argv, "-b", "256"), nullptr, 10);
  const size_t reps = std::max<size_t>(1, std::strtoull(Arg(argc, argv, "-r", "3"), nullptr, 10));
  const size_t llama_max = std::strtoull(Arg(argc, argv, "--llama-max-depth", "0"), nullptr, 10);
  std::vector<size_t> llama_depths;
  for (size_t d : depths)
    if (llama_max == 0 || d <= llama_max) llama_depths.push_back(d);
  ThreadContext threads(std::atoi(Arg(argc, argv, "-t", "0")));
  StateOptions base;
  base.max_batch = batch;
  base.kv_dtype = std::string(Arg(argc, argv, "--kv", "f16")) == "f32" ? DType::kF32 : DType::kF16;
  base.context_length = depths.back() + (reps * steps + 2) * depths.size() + 2;

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
      llama_path.c_str(), (*llama)->architecture().c_str(), ll.vocab_size(), threads.num_threads(),
      DTypeName(base.kv_dtype), batch, DescribeCpu(DetectCpuFeatures()).c_str(), a.k, a.window,
      a.sinks, a.dense_below, a.dci.levels, a.search_block, gf.cache_bytes_per_token(base.kv_dtype),
      gf.speed_cache_bytes_per_token(), 2 * c.n_layer * c.n_embd * DTypeBytes(base.kv_dtype, 1),
      DTypeName(base.kv_dtype));
  std::fflush(stdout);

  std::vector<std::vector<Figure>> g(3, std::vector<Figure>(depths.size())), l;
  if (run_gf)
    if (Status st = RunModel("goldfinch", gf, ice,
                             {{"rebuild", base, rebuild_steps, 1}, {"dense", cached, steps}},
                             depths, steps, reps, batch, threads, &g);
        !st.ok())
      return Fail(st);
  // The Llama's KV cache is sized to its own deepest depth.
  StateOptions llama_base = base;
  if (!llama_depths.empty())
    llama_base.context_length = llama_depths.back() + (reps * steps + 2) * depths.size() + 2;
  StateOptions llama_ice = llama_base;
  llama_ice.attention = ice.attention;
  if (run_llama && !llama_depths.empty())
    if (Status st = RunModel("llama", ll, llama_ice, {{"dense", llama_base, steps}}, llama_depths,
                             steps, reps, batch, threads, &l);
        !st.ok())
      return Fail(st);

  std::printf(
      "\n| depth | GoldFinch rebuild | GoldFinch dense (speed cache) | GoldFinch ice | "
      "Llama dense | Llama ice | state MiB: GoldFinch rebuild / dense / ice | "
      "Llama dense / ice |\n|---|---|---|---|---|---|---|---|\n");
  auto cell = [](const std::vector<std::vector<Figure>>& f, size_t v, size_t d, bool bytes) {
    char buf[32];
    if (v >= f.size() || d >= f[v].size()) return std::string("-");
    std::snprintf(buf, sizeof buf, bytes ? "%.1f" : "%.2f",
                  bytes ? f[v][d].state_bytes / 1048576.0 : f[v][d].tok_s);
    return std::string(buf);
  };
  for (size_t d = 0; d < depths.size(); ++d)
    std::printf("| %zu | %s | %s | %s | %s | %s | %s / %s / %s | %s / %s |\n", depths[d],
                cell(g, 0, d, false).c_str(), cell(g, 1, d, false).c_str(),
                cell(g, 2, d, false).c_str(), cell(l, 0, d, false).c_str(),
                cell(l, 1, d, false).c_str(), cell(g, 0, d, true).c_str(),
                cell(g, 1, d, true).c_str(), cell(g, 2, d, true).c_str(),
                cell(l, 0, d, true).c_str(), cell(l, 1, d, true).c_str());
  std::printf(
      "(decode tok/s: median of %zu rounds of %zu steps (rebuild: %zu steps, first round only) "
      "after one untimed step, "
      "a model's variants alternating within each round; state = memory_bytes() after the "
      "steps: caches at their capacity, scratch, kNN index)\n",
      reps, steps, rebuild_steps);
  return 0;
}
