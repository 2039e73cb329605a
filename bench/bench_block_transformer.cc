// Block Transformer against the vanilla model of equal non-embedding parameters (the paper's
// pairing, arXiv 2406.02657 section 4 / Figure 4): batched greedy generation through
// CausalLm::ForwardEach (floe_eval_batch's path), the paper's two settings scaled by the
// flags: decode-heavy (short prompt, long generation) and prefill-heavy (long prompt, short
// generation), for each batch size. Reports generated tokens/s over the whole run (prefill +
// decode, as the paper's throughput), the decode-only rate, peak RSS of the run, and the
// per-sequence state at the end (KV cache; the Block Transformer's block cache has one entry
// per L_B tokens and its local cache at most P + L_B positions). Both models are GGUF files
// (floe make-model) measured in the same process, one after the other.
//
// usage: bench_block_transformer -m BLOCK.gguf --vanilla VANILLA.gguf
//          [--decode 128,2048] [--prefill 2048,128] [-B 1,8,32,64] [-t 0]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "bench/common/bench_util.h"
#include "models/block_transformer/block_transformer_model.h"
#include "platform/kernels/ops.h"
#include "runtime/engine/model.h"

using namespace floe;
using namespace floe::bench;

namespace {

struct RunResult {
  double total_s = 0, decode_s = 0;
  size_t peak_rss = 0, state_bytes = 0, block_entries = 0, local_positions = 0;
  bool ok = false;
};

RunResult Run(const CausalLm& lm, size_t prompt, size_t gen, size_t batch, ThreadContext& threads) {
  RunResult r;
  ResetPeakRss();
  const size_t V = lm.vocab_size();
  StateOptions so;
  so.context_length = prompt + gen;
  so.max_batch = 64;
  std::vector<std::unique_ptr<SequenceState>> states;
  std::vector<SequenceState*> ptrs;
  std::vector<float> logits(batch * V);
  std::vector<int32_t> next(batch);
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < batch; ++i) {
    auto s = lm.NewState(so);
    if (!s.ok()) return std::fprintf(stderr, "%s\n", s.status().ToString().c_str()), r;
    std::vector<int32_t> p(prompt);
    for (size_t j = 0; j < prompt; ++j) p[j] = int32_t((j * 7919 + i * 104729 + 17) % V);
    const Status st =
        lm.Forward(**s, p, LogitsMode::kLast, logits.data() + i * V, threads, nullptr);
    if (!st.ok()) return std::fprintf(stderr, "%s\n", st.ToString().c_str()), r;
    next[i] = int32_t(Argmax(logits.data() + i * V, V));
    ptrs.push_back(s->get());
    states.push_back(std::move(s).value());
  }
  const auto t1 = std::chrono::steady_clock::now();
  for (size_t step = 1; step < gen; ++step) {
    const Status st = lm.ForwardEach(ptrs, next, logits.data(), threads, nullptr);
    if (!st.ok()) return std::fprintf(stderr, "%s\n", st.ToString().c_str()), r;
    for (size_t i = 0; i < batch; ++i) next[i] = int32_t(Argmax(logits.data() + i * V, V));
  }
  r.decode_s = Seconds(t1);
  r.total_s = Seconds(t0);
  r.peak_rss = PeakRss();
  r.state_bytes = states[0]->memory_bytes();
  if (const auto* bt = dynamic_cast<const BlockTransformerModel*>(&lm)) {
    auto blocks = bt->BlockCacheLength(*states[0]);
    auto local = bt->LocalCacheLength(*states[0]);
    r.block_entries = blocks.ok() ? *blocks : 0;
    r.local_positions = local.ok() ? *local : 0;
  }
  r.ok = true;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string block_path = Arg(argc, argv, "-m", "");
  const std::string vanilla_path = Arg(argc, argv, "--vanilla", "");
  const auto decode = List(Arg(argc, argv, "--decode", "128,2048"));
  const auto prefill = List(Arg(argc, argv, "--prefill", "2048,128"));
  const auto batches = List(Arg(argc, argv, "-B", "1,8,32,64"));
  ThreadContext threads(std::atoi(Arg(argc, argv, "-t", "0")));
  if (block_path.empty() || vanilla_path.empty() || decode.size() != 2 || prefill.size() != 2) {
    std::fprintf(stderr,
                 "usage: bench_block_transformer -m BLOCK.gguf --vanilla VANILLA.gguf "
                 "[--decode P,G] [--prefill P,G] [-B 1,8,32,64] [-t N]\n");
    return 2;
  }
  struct Setting {
    const char* name;
    size_t prompt, gen;
  };
  const Setting settings[] = {{"decode-heavy", decode[0], decode[1]},
                              {"prefill-heavy", prefill[0], prefill[1]}};
  std::printf("threads %d\n", threads.num_threads());
  std::printf(
      "| model | setting | prompt | gen | batch | gen tok/s (total) | decode tok/s | "
      "peak RSS MiB | state/seq KiB | block entries | local positions |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const std::string& path : {block_path, vanilla_path}) {
    auto m = Model::Load(path);
    if (!m.ok()) return std::fprintf(stderr, "%s\n", m.status().ToString().c_str()), 1;
    const CausalLm& lm = (*m)->lm();
    for (const Setting& s : settings) {
      for (size_t b : batches) {
        const RunResult r = Run(lm, s.prompt, s.gen, b, threads);
        if (!r.ok) return 1;
        const bool bt = lm.architecture() == "block-transformer";
        std::printf("| %s | %s | %zu | %zu | %zu | %.1f | %.1f | %.0f | %.0f | %s | %s |\n",
                    lm.architecture().c_str(), s.name, s.prompt, s.gen, b,
                    double(b * s.gen) / r.total_s, double(b * (s.gen - 1)) / r.decode_s,
                    double(r.peak_rss) / (1 << 20), double(r.state_bytes) / 1024,
                    bt ? std::to_string(r.block_entries).c_str() : "-",
                    bt ? std::to_string(r.local_positions).c_str() : "-");
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
