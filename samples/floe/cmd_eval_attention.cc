// floe eval-attention: the same tokens through dense attention and through IceFormer kNN
// attention (two sessions; the kNN search by Prioritized DCI, or by FAISS with --attention
// faiss), reporting
//   - top-k recall: |retrieved ∩ exact top-k| / k of the kNN search, against brute force over
//     the same eligible keys [S, p - W], averaged over sampled (layer, head, position) queries
//     that used the kNN path;
//   - attention-output relative error |o_ice - o_dense| / |o_dense| on those queries (dense =
//     exact attention over all keys of the ice session's own cache: the same q, K, V);
//   - mean KL(P_dense || P_ice) of the next-token distributions, top-1 agreement, and the
//     perplexity of both on the text (every position predicts the next token).
// With --head-plan FILE the second session runs under that plan instead (its knn heads' k,
// window and sinks from the plan, the other kNN parameters from the flags): recall and output
// error are those of the plan's knn heads, KL, top-1 and perplexity those of the whole plan.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "attention/knn/ice_reference.h"
#include "attention_flags.h"
#include "checks.h"
#include "load_flags.h"
#include "session_flags.h"
#include "text_file.h"
#include "token_file.h"
#include "commands.h"
#include "runtime/engine/model.h"
#include "runtime/engine/session.h"

namespace floe::cli {

namespace {

// Recall and output error of sampled queries, accumulated from worker threads.
class RecallProbe final : public AttentionProbe {
 public:
  RecallProbe(size_t every, size_t n_layers) : every_(every), by_layer_(n_layers) {}
  bool Wants(size_t, size_t, size_t position) const override { return position % every_ == 0; }
  void Record(const AttentionProbeEvent& e) override {
    if (!e.sparse) {
      std::lock_guard<std::mutex> lock(mu_);
      ++dense_queries_;
      return;
    }
    const auto exact = ice::reference::TopKInnerProduct(*e.cache, e.cache_layer, e.cache_kv_head,
                                                        e.q, e.eligible_begin, e.eligible_end, e.k);
    const std::set<uint32_t> got(e.retrieved.begin(), e.retrieved.end());
    size_t hit = 0;
    for (uint32_t id : exact) hit += got.count(id);
    const double recall = double(hit) / double(exact.size());
    const size_t hd = e.cache->head_dim();
    std::vector<float> ref(hd);
    ice::reference::DenseAttend(*e.cache, e.cache_layer, e.cache_kv_head, e.q, e.position + 1,
                                ref.data());
    double num = 0, den = 0;
    for (size_t d = 0; d < hd; ++d) {
      num += (double(e.out[d]) - ref[d]) * (double(e.out[d]) - ref[d]);
      den += double(ref[d]) * ref[d];
    }
    const double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
    std::lock_guard<std::mutex> lock(mu_);
    ++sparse_queries_;
    recall_sum_ += recall;
    rel_sum_ += rel;
    scored_sum_ += double(e.candidates) / double(e.eligible_end - e.eligible_begin);
    rel_max_ = std::max(rel_max_, rel);
    by_layer_[e.layer].first += recall;
    by_layer_[e.layer].second += 1;
  }

  size_t every_;
  std::mutex mu_;
  size_t sparse_queries_ = 0, dense_queries_ = 0;
  double recall_sum_ = 0, rel_sum_ = 0, rel_max_ = 0, scored_sum_ = 0;
  std::vector<std::pair<double, size_t>> by_layer_;
};

double LogSumExp(const float* x, size_t n) {
  const float mx = *std::max_element(x, x + n);
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += std::exp(double(x[i]) - mx);
  return mx + std::log(s);
}

// The `bytes` of the file after --skip-frac of them, from the next line on (*start: where),
// read without the rest of the file (docs/allocation-audit.md item 16).
Result<std::string> WindowText(const std::string& path, double skip, size_t bytes, size_t* start) {
  FLOE_ASSIGN_OR_RETURN(const size_t size, TextFileSize(path));
  *start = size_t(skip * double(size));
  if (*start > 0) {
    FLOE_ASSIGN_OR_RETURN(const size_t nl, FindNewline(path, *start));
    *start = nl == size ? size : nl + 1;
  }
  return ReadTextRange(path, *start, bytes);
}

std::unique_ptr<Session> NewSession(const Model& m, const SessionParams& p, const char* what) {
  auto s = Session::Create(m, p);
  if (!s.ok()) {
    std::fprintf(stderr, "floe eval-attention: %s session: %s\n", what,
                 s.status().ToString().c_str());
    return nullptr;
  }
  return std::move(s).value();
}

struct EvalAttentionFlags {
  ModelFlags model;
  std::string text_path;
  std::string tokens_path;  // instead of text_path: token ids, one per line
  size_t ctx = 0;
  double skip = 0.0;
  long windows = 1;
  long every = 4;  // 0: no probe (timing only)
  int threads = 0;
  AttentionSettings attention;  // of the kNN session: ice unless --attention faiss
  std::optional<HeadPlan> head_plan;  // the second session's plan, if any
  std::string head_plan_path;
  EvalAttentionFlags() { attention.backend = AttentionBackend::kIce; }
};

int Run(const EvalAttentionFlags& f) {
  const std::string& model_path = f.model.model;
  const std::string& text_path = f.text_path;
  const long ctx = long(f.ctx), windows = f.windows, every = f.every;
  const double skip = f.skip;
  SessionParams base;
  base.threads = f.threads;
  SessionParams ice = base;
  ice.attention = f.attention;
  // --attention dense would compare dense to itself: ice unless faiss is asked for.
  if (ice.attention.backend != AttentionBackend::kFaiss)
    ice.attention.backend = AttentionBackend::kIce;
  ice.head_plan = f.head_plan;
  const char* knn_name = f.head_plan ? "plan" : AttentionBackendName(ice.attention.backend);
  ProgressLine progress(f.model.progress);
  base.progress = ice.progress = progress.PrefillCallback();
  auto model = LoadModel(model_path, f.model.load, &progress);
  if (!model.ok()) {
    std::fprintf(stderr, "floe eval-attention: %s\n", model.status().ToString().c_str());
    return 1;
  }
  const Tokenizer* tok = (*model)->tokenizer();
  if (!tok) {
    std::fprintf(stderr, "floe eval-attention: the model has no vocabulary; pass -z\n");
    return 1;
  }
  std::vector<int32_t> ids;
  size_t start = 0;
  if (!f.tokens_path.empty()) {
    std::string err;
    if (!ReadTokenFile(f.tokens_path, &ids, &err)) {
      std::fprintf(stderr, "floe eval-attention: %s\n", err.c_str());
      return 1;
    }
    const size_t vocab = (*model)->lm().vocab_size();
    for (int32_t id : ids)
      if (size_t(id) >= vocab) {
        std::fprintf(stderr, "floe eval-attention: token id %d is outside the vocabulary (%zu)\n",
                     id, vocab);
        return 1;
      }
  } else {
    auto text = WindowText(text_path, skip, size_t(ctx) * size_t(windows) * 24, &start);
    if (!text.ok()) {
      std::fprintf(stderr, "floe eval-attention: %s\n", text.status().message().c_str());
      return 1;
    }
    ids = tok->Encode(*text, /*add_bos=*/false);
  }
  const size_t per = size_t(ctx) - 1;  // each window: BOS + ctx - 1 text tokens
  if (ids.size() < per * size_t(windows)) {
    std::fprintf(stderr, "floe eval-attention: the %s gives %zu tokens, %zu needed\n",
                 f.tokens_path.empty() ? "text" : "token file", ids.size(), per * size_t(windows));
    return 1;
  }
  base.context_length = ice.context_length = size_t(ctx);
  RecallProbe probe(size_t(std::max(every, 1L)), 4096);  // <= 4096 layers
  if (every > 0) ice.attention_probe = &probe;

  const size_t V = (*model)->lm().vocab_size();
  double nll_dense = 0, nll_ice = 0, kl = 0, secs_dense = 0, secs_ice = 0;
  size_t agree = 0, n_pred = 0, dense_bytes = 0, knn_bytes = 0;
  for (long w = 0; w < windows; ++w) {
    std::vector<int32_t> window = {tok->bos()};
    window.insert(window.end(), ids.begin() + w * per, ids.begin() + (w + 1) * per);
    auto dense = NewSession(**model, base, "dense");
    auto knn = NewSession(**model, ice, knn_name);
    if (!dense || !knn) return 1;
    const std::string of =
        windows > 1 ? " (window " + std::to_string(w + 1) + "/" + std::to_string(windows) + ")"
                    : "";
    auto t0 = std::chrono::steady_clock::now();
    progress.Start("dense prefill" + of, double(window.size()), "tok");
    Status st = dense->Eval(window, /*all_logits=*/true);
    auto t1 = std::chrono::steady_clock::now();
    progress.Start(std::string(knn_name) + " prefill" + of, double(window.size()), "tok");
    if (st.ok()) st = knn->Eval(window, /*all_logits=*/true);
    auto t2 = std::chrono::steady_clock::now();
    progress.Finish();
    if (!st.ok()) {
      std::fprintf(stderr, "floe eval-attention: %s\n", st.ToString().c_str());
      return 1;
    }
    dense_bytes = dense->state_bytes();
    knn_bytes = knn->state_bytes();
    secs_dense += std::chrono::duration<double>(t1 - t0).count();
    secs_ice += std::chrono::duration<double>(t2 - t1).count();
    const auto& ld = dense->all_logits();
    const auto& li = knn->all_logits();
    for (size_t t = 0; t + 1 < window.size(); ++t) {
      const float* d = ld.data() + t * V;
      const float* i = li.data() + t * V;
      const double zd = LogSumExp(d, V), zi = LogSumExp(i, V);
      const int32_t next = window[t + 1];
      nll_dense += zd - d[next];
      nll_ice += zi - i[next];
      for (size_t v = 0; v < V; ++v) {
        const double lpd = d[v] - zd, lpi = i[v] - zi;
        kl += std::exp(lpd) * (lpd - lpi);
      }
      agree += (std::max_element(d, d + V) - d) == (std::max_element(i, i + V) - i);
      ++n_pred;
    }
  }
  const AttentionSettings& s = ice.attention;
  const double ppl_d = std::exp(nll_dense / double(n_pred)),
               ppl_i = std::exp(nll_ice / double(n_pred));
  std::printf("model: %s\n", model_path.c_str());
  if (f.tokens_path.empty())
    std::printf("tokens: %ld window(s) x %ld (text from byte %zu of %s)\n", windows, ctx, start,
                text_path.c_str());
  else
    std::printf("tokens: %ld window(s) x %ld (ids from %s)\n", windows, ctx, f.tokens_path.c_str());
  if (s.backend == AttentionBackend::kFaiss)
    std::printf(
        "faiss settings: k %zu, window %zu, sinks %zu, dense_below %zu, search block %zu x %.2f, "
        "%s, HNSW M %zu efSearch %zu efConstruction %zu\n",
        s.k, s.window, s.sinks, s.dense_below, s.search_block, double(s.search_scale),
        FaissKindName(s.faiss.kind), s.faiss.hnsw_m, s.faiss.ef_search, s.faiss.ef_construction);
  else
    std::printf(
        "ice settings: k %zu, window %zu, sinks %zu, dense_below %zu, search block %zu x %.2f, DCI "
        "m %zu L %zu candidates %zu x k, %zu level(s)%s\n",
        s.k, s.window, s.sinks, s.dense_below, s.search_block, double(s.search_scale),
        s.dci.simple_indices, s.dci.composite_indices, s.dci.candidates_per_k, s.dci.levels,
        s.dci.levels > 1 ? (" fanout " + std::to_string(s.dci.fanout)).c_str() : "");
  if (f.head_plan)
    std::printf("head plan: %s (knn heads: k, window and sinks their own; the rest above)\n",
                f.head_plan_path.c_str());
  std::printf("sampled queries: %zu kNN, %zu dense (every %ld-th position%s)\n",
              probe.sparse_queries_, probe.dense_queries_, every,
              f.head_plan ? "; the plan's knn heads only" : "");
  if (probe.sparse_queries_ > 0) {
    std::printf("top-k recall: %.4f\n", probe.recall_sum_ / double(probe.sparse_queries_));
    std::printf("recall by layer:");
    for (size_t l = 0; l < probe.by_layer_.size(); ++l)
      if (probe.by_layer_[l].second)
        std::printf(" %.3f", probe.by_layer_[l].first / double(probe.by_layer_[l].second));
    std::printf("\n");
    if (s.backend == AttentionBackend::kFaiss)  // FAISS scores keys internally; it returns k
      std::printf("keys scored per kNN query: n/a (FAISS returns its top-k only)\n");
    else
      std::printf("keys scored per kNN query: %.1f%% of the eligible keys\n",
                  100.0 * probe.scored_sum_ / double(probe.sparse_queries_));
    std::printf("attention output relative error: mean %.5f, max %.5f\n",
                probe.rel_sum_ / double(probe.sparse_queries_), probe.rel_max_);
  } else {
    std::printf("top-k recall: n/a (no sampled query used the kNN path; see --knn-dense-below)\n");
    std::printf("attention output relative error: n/a\n");
  }
  std::printf("mean KL(dense || %s): %.6f nats over %zu positions\n", knn_name, kl / double(n_pred),
              n_pred);
  std::printf("top-1 agreement: %.4f\n", double(agree) / double(n_pred));
  std::printf("perplexity: dense %.4f, %s %.4f (%+.3f%%)\n", ppl_d, knn_name, ppl_i,
              100.0 * (ppl_i / ppl_d - 1.0));
  std::printf("state memory: dense %.2f MiB, %s %.2f MiB (kNN index %.2f MiB)\n",
              dense_bytes / 1048576.0, knn_name, knn_bytes / 1048576.0,
              (double(knn_bytes) - double(dense_bytes)) / 1048576.0);
  std::printf("prefill time: dense %.3f s, %s %.3f s%s\n", secs_dense, knn_name, secs_ice,
              every > 0 ? " (includes the sampled brute-force checks)" : "");
  return 0;
}

}  // namespace

Verb AddEvalAttention(CLI::App& floe) {
  auto f = std::make_shared<EvalAttentionFlags>();
  CLI::App* app = floe.add_subcommand(
      "eval-attention",
      "the same text through dense and kNN attention: recall, output error, KL, perplexity");
  AddModelFlags(app, &f->model);
  CLI::Option* file = app->add_option("-f,--file", f->text_path, "text to evaluate")
                          ->check(ExistingInputFile())
                          ->type_name("FILE");
  CLI::Option* tokens =
      app->add_option("--tokens", f->tokens_path,
                      "token ids to evaluate instead of -f, one per line (each window: BOS + "
                      "the next ctx - 1 ids)")
          ->check(ExistingInputFile())
          ->type_name("FILE");
  file->excludes(tokens);
  AddContextFlag(app, &f->ctx, "tokens per window (BOS + ctx - 1 text tokens)")
      ->required()
      ->check(IntAtLeast(2));
  app->add_option("--skip-frac", f->skip, "start this far into the text's bytes, at the next line")
      ->check(RealRange(0, 1, /*max_open=*/true));
  app->add_option("--windows", f->windows, "windows of --ctx tokens evaluated")
      ->check(IntAtLeast(1));
  app->add_option("--sample-every", f->every, "probe every S-th position's queries; 0: timing only")
      ->check(IntAtLeast(0));
  AddThreadsFlag(app, &f->threads);
  AddAttentionFlags(app, &f->attention);
  AddHeadPlanFlag(app, &f->head_plan, "Attention", &f->head_plan_path);
  // Exactly one input: -f or --tokens (the excludes above refuses both).
  app->callback([file, tokens] {
    if (file->count() == 0 && tokens->count() == 0)
      throw CLI::RequiredError("-f FILE or --tokens FILE");
  });
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::cli
