// floe plan-heads: calibrates a head plan (attention/head_plan.h) against dense attention on
// real text, then measures it on held-out text beside dense and uniform IceFormer attention.
//   1. Recency of every KV head on a calibration window (head_stats.h): the heads whose
//      attention sits most on recent keys are tried first.
//   2. Greedy: for each head in that order, the modes cheaper than dense (window 16 to 1536,
//      knn with a 64 or 256 window) are tried from the cheapest estimated decode cost at
//      --context; the first that keeps top-1 agreement with dense >= --min-top1 + --margin and
//      the perplexity within (1 - margin) --max-ppl-delta of dense on the calibration window
//      (with every head already moved) is kept; else the head stays dense.
//   3. On held-out text (the last --heldout-frac of the file's bytes, never calibrated on):
//      top-1 agreement and perplexity of the plan and of uniform ice (its defaults) against
//      dense, their cache bytes per token and decode speed at --context, same run; with
//      --memory-budget the plan's cache at --context must fit.
// Calibration text is the window of --context tokens just before the held-out part.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "attention_flags.h"
#include "checks.h"
#include "commands.h"
#include "head_stats.h"
#include "load_flags.h"
#include "runtime/engine/head_plan_json.h"
#include "runtime/engine/session.h"
#include "session_flags.h"

namespace floe::cli {

namespace {

struct PlanHeadsFlags {
  ModelFlags model;
  std::string text_path, out_path;
  double min_top1 = 0.99;
  double max_ppl_delta = 0.01;
  double margin = 0.003;  // calibration keeps top-1 >= min_top1 + margin (held-out text differs)
  size_t context = 2048;
  double heldout = 0.05;
  long eval_windows = 1;
  long decode_tokens = 64;
  long reps = 3;
  size_t memory_budget = 0;  // 0: none
  int threads = 0;
  AttentionSettings knn;  // kNN parameters of knn heads and of the uniform ice comparison
};

// Next-token predictions of one window: top-1 ids and the summed negative log-likelihood.
struct Predictions {
  std::vector<int32_t> top1;
  double nll = 0;
};

Result<Predictions> Predict(const Model& m, SessionParams p, std::span<const int32_t> window) {
  FLOE_ASSIGN_OR_RETURN(auto s, Session::Create(m, p));
  FLOE_RETURN_IF_ERROR(s->Eval(window, /*all_logits=*/true));
  const size_t V = s->vocab_size();
  const auto& all = s->all_logits();
  Predictions r;
  for (size_t t = 0; t + 1 < window.size(); ++t) {
    const float* row = all.data() + t * V;
    const float mx = *std::max_element(row, row + V);
    double z = 0;
    for (size_t v = 0; v < V; ++v) z += std::exp(double(row[v]) - mx);
    r.nll += mx + std::log(z) - row[window[t + 1]];
    r.top1.push_back(int32_t(std::max_element(row, row + V) - row));
  }
  return r;
}

struct Agreement {
  double top1 = 0, ppl_ratio = 1;
};

Agreement Compare(const Predictions& dense, const Predictions& other) {
  size_t same = 0;
  for (size_t i = 0; i < dense.top1.size(); ++i) same += dense.top1[i] == other.top1[i];
  const double n = double(dense.top1.size());
  return {double(same) / n, std::exp((other.nll - dense.nll) / n)};
}

// Estimated keys read per query of one head at context n (the decode cost model): dense n,
// window W, knn sinks + window + k + its share of a DCI search (candidates scored per query:
// composite indices x candidates_per_k x k x search_scale / search_block); below dense_below
// keys knn is dense.
double KeysPerQuery(const HeadSpec& s, const AttentionSettings& a, size_t n) {
  switch (s.mode) {
    case HeadMode::kWindow:
      return double(std::min(s.window, n));
    case HeadMode::kKnn: {
      if (n < a.dense_below) return double(n);
      const double search = double(a.dci.composite_indices * a.dci.candidates_per_k * s.k) *
                            double(a.search_scale) / double(std::max<size_t>(a.search_block, 1));
      return std::min(double(n), double(s.sinks + s.window + s.k) + search);
    }
    case HeadMode::kRecurrent:
      return 0;
    default:
      return double(n);
  }
}

double PlanKeys(const ResolvedHeadPlan& p, const AttentionSettings& a, size_t n) {
  double k = 0;
  for (const HeadSpec& s : p.specs) k += KeysPerQuery(s, a, n);
  return k;
}

struct Measured {
  Agreement agree;
  double ppl = 0;
  size_t cache_bytes = 0;  // at the end of the first held-out window
  double decode_tps = 0;   // median over reps
};

// Prefill BOS + n - 1 - decode tokens, then `decode` single-token steps: tokens per second.
Result<double> DecodeSpeed(const Model& m, const SessionParams& p, std::span<const int32_t> window,
                           size_t decode) {
  FLOE_ASSIGN_OR_RETURN(auto s, Session::Create(m, p));
  const size_t prefix = window.size() - decode;
  FLOE_RETURN_IF_ERROR(s->Eval(window.first(prefix)));
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = prefix; i < window.size(); ++i) FLOE_RETURN_IF_ERROR(s->Eval(window.subspan(i, 1)));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return double(decode) / secs;
}

int Fail(const Status& st) {
  std::fprintf(stderr, "floe plan-heads: %s\n", st.ToString().c_str());
  return 1;
}

std::string Num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

int Run(const PlanHeadsFlags& f) {
  ProgressLine progress(f.model.progress);
  auto loaded = LoadModel(f.model.model, f.model.load, &progress);
  if (!loaded.ok()) return Fail(loaded.status());
  const Model& m = **loaded;
  if (!m.lm().accepts_head_plan())
    return Fail(InvalidArgument("architecture '" + m.lm().architecture() +
                                "' does not take a head plan"));
  if (m.lm().has_recurrent_heads())
    return Fail(InvalidArgument(
        "architecture '" + m.lm().architecture() +
        "' has recurrent heads, which plan-heads does not calibrate: write its plan by hand "
        "(its recurrent heads 'recurrent', the others dense, knn or window; "
        "docs/attention/head-plans.md)"));
  const Tokenizer* tok = m.tokenizer();
  if (!tok) return Fail(InvalidArgument("the model has no vocabulary; pass -z"));
  const size_t N = f.context, per = N - 1;
  auto split = HeldOutStart(f.text_path, f.heldout);
  if (!split.ok()) return Fail(split.status());
  const auto [heldout_begin, file_end] = *split;
  // Calibration: the window of N - 1 tokens that ends where the held-out part begins.
  const size_t calib_bytes = per * 24;
  auto calib_ids = ReadTextTokens(m, f.text_path,
                                  heldout_begin > calib_bytes ? heldout_begin - calib_bytes : 0,
                                  heldout_begin);
  if (!calib_ids.ok()) return Fail(calib_ids.status());
  if (calib_ids->size() < per) return Fail(InvalidArgument("too little calibration text"));
  std::vector<int32_t> calib = {tok->bos()};
  calib.insert(calib.end(), calib_ids->end() - long(per), calib_ids->end());
  auto held_ids = ReadTextTokens(m, f.text_path, heldout_begin, file_end);
  if (!held_ids.ok()) return Fail(held_ids.status());
  if (held_ids->size() < per * size_t(f.eval_windows))
    return Fail(InvalidArgument("the held-out text gives " + std::to_string(held_ids->size()) +
                                " tokens; " + std::to_string(per * size_t(f.eval_windows)) +
                                " needed (fewer --eval-windows or a smaller --context)"));

  // 1. Recency on the calibration window.
  auto stats = MeasureHeadStats(m, std::span(calib).subspan(1), N, 1, 8, N > 512 ? 256 : 0,
                                f.threads);
  if (!stats.ok()) return Fail(stats.status());
  const size_t L = stats->n_layers, G = stats->n_kv_heads;
  std::vector<size_t> order(L * G);
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return stats->KvHead(a / G, a % G).recent[1] > stats->KvHead(b / G, b % G).recent[1];
  });

  // 2. Greedy calibration against dense.
  SessionParams base;
  base.threads = f.threads;
  base.context_length = N;
  auto dense_calib = Predict(m, base, calib);
  if (!dense_calib.ok()) return Fail(dense_calib.status());
  AttentionSettings knn = f.knn;
  knn.backend = AttentionBackend::kIce;
  std::vector<HeadSpec> ladder;
  for (size_t w : {16, 64, 256, 512, 1024, 1536})
    if (w < N) ladder.push_back({HeadMode::kWindow, 32, w, 4});
  for (size_t w : {64, 256})
    if (w + knn.sinks < N) ladder.push_back({HeadMode::kKnn, knn.k, w, knn.sinks});
  std::stable_sort(ladder.begin(), ladder.end(), [&](const HeadSpec& a, const HeadSpec& b) {
    return KeysPerQuery(a, knn, N) < KeysPerQuery(b, knn, N);
  });
  std::erase_if(ladder, [&](const HeadSpec& s) { return KeysPerQuery(s, knn, N) >= double(N); });
  HeadPlan plan;
  std::vector<HeadSpec> chosen(L * G);
  size_t tries = 0;
  Agreement calib_agree{1.0, 1.0};  // no head moved: the plan is dense
  for (size_t i : order) {
    const size_t layer = i / G, head = i % G;
    for (const HeadSpec& cand : ladder) {
      HeadPlan trial = plan;
      trial.heads.push_back({layer, head, cand});
      SessionParams p = base;
      p.attention = knn;
      p.attention.backend = AttentionBackend::kDense;
      p.head_plan = trial;
      auto pred = Predict(m, p, calib);
      if (!pred.ok()) return Fail(pred.status());
      ++tries;
      const Agreement a = Compare(*dense_calib, *pred);
      std::fprintf(stderr, "  layer %zu head %zu %-26s calibration top-1 %.4f ppl %+.3f%%\n",
                   layer, head, cand.ToString().c_str(), a.top1, 100 * (a.ppl_ratio - 1));
      if (a.top1 >= std::min(1.0, f.min_top1 + f.margin) &&
          std::fabs(a.ppl_ratio - 1) <= f.max_ppl_delta * (1 - f.margin)) {
        plan = trial;
        chosen[i] = cand;
        calib_agree = a;
        break;
      }
    }
  }
  // Entries in (layer, head) order; heads left dense are written too, so the file reads whole.
  plan.heads.clear();
  for (size_t i = 0; i < L * G; ++i) plan.heads.push_back({i / G, i % G, chosen[i]});
  auto resolved = plan.Resolve(L, G, N, false);
  if (!resolved.ok()) return Fail(resolved.status());

  // 3. Held-out: dense, uniform ice, the plan; same windows, same run.
  SessionParams ice = base;
  ice.attention = f.knn;
  ice.attention.backend = AttentionBackend::kIce;
  SessionParams planned = base;
  planned.attention = knn;
  planned.attention.backend = AttentionBackend::kDense;
  planned.head_plan = plan;
  const SessionParams* configs[3] = {&base, &ice, &planned};
  const char* names[3] = {"dense", "ice (uniform defaults)", "plan"};
  Measured res[3];
  std::vector<Predictions> total(3);
  for (long w = 0; w < f.eval_windows; ++w) {
    std::vector<int32_t> window = {tok->bos()};
    window.insert(window.end(), held_ids->begin() + w * long(per),
                  held_ids->begin() + (w + 1) * long(per));
    for (int c = 0; c < 3; ++c) {
      auto pred = Predict(m, *configs[c], window);
      if (!pred.ok()) return Fail(pred.status());
      total[c].nll += pred->nll;
      total[c].top1.insert(total[c].top1.end(), pred->top1.begin(), pred->top1.end());
    }
  }
  std::vector<int32_t> first = {tok->bos()};
  first.insert(first.end(), held_ids->begin(), held_ids->begin() + long(per));
  std::vector<double> tps[3];
  for (long r = 0; r < f.reps; ++r)  // interleaved, so drift on a loaded machine hits all three
    for (int c = 0; c < 3; ++c) {
      auto v = DecodeSpeed(m, *configs[c], first, size_t(f.decode_tokens));
      if (!v.ok()) return Fail(v.status());
      tps[c].push_back(*v);
    }
  for (int c = 0; c < 3; ++c) {
    res[c].agree = Compare(total[0], total[c]);
    res[c].ppl = std::exp(total[c].nll / double(total[c].top1.size()));
    std::sort(tps[c].begin(), tps[c].end());
    res[c].decode_tps = tps[c][tps[c].size() / 2];
    auto s = Session::Create(m, *configs[c]);
    if (!s.ok()) return Fail(s.status());
    if (Status st = (*s)->Eval(first); !st.ok()) return Fail(st);
    res[c].cache_bytes = (*s)->cache_bytes();
  }
  ResolvedHeadPlan all_dense = *resolved, all_ice = *resolved;
  for (HeadSpec& s : all_dense.specs) s = HeadSpec{};
  for (HeadSpec& s : all_ice.specs) s = {HeadMode::kKnn, f.knn.k, f.knn.window, f.knn.sinks};
  const double keys[3] = {PlanKeys(all_dense, knn, N), PlanKeys(all_ice, knn, N),
                          PlanKeys(*resolved, knn, N)};

  std::printf("model: %s\n", f.model.model.c_str());
  std::printf("calibration: %zu tokens before byte %zu of %s; %zu trials; targets top-1 >= %.4f, "
              "|ppl delta| <= %.2f%% (calibrated with margin %.4f: top-1 %.4f, ppl %+.3f%%)\n",
              calib.size(), heldout_begin, f.text_path.c_str(), tries, f.min_top1,
              100 * f.max_ppl_delta, f.margin, calib_agree.top1, 100 * (calib_agree.ppl_ratio - 1));
  std::printf("plan: %zu dense, %zu knn, %zu window heads of %zu\n",
              resolved->count(HeadMode::kDense), resolved->count(HeadMode::kKnn),
              resolved->count(HeadMode::kWindow), resolved->specs.size());
  for (size_t l = 0; l < L; ++l) {
    std::printf("  layer %zu:", l);
    for (size_t g = 0; g < G; ++g) std::printf(" %s", resolved->at(l, g).ToString().c_str());
    std::printf("\n");
  }
  std::printf("held-out: last %.1f%% of the file (from byte %zu), %ld window(s) of %zu tokens; "
              "decode: the last %ld tokens of the first window, median of %ld\n",
              100 * f.heldout, heldout_begin, f.eval_windows, N, f.decode_tokens, f.reps);
  std::printf("%-24s %10s %10s %11s %16s %14s %14s\n", "attention", "top-1", "ppl", "ppl delta",
              "cache B/token", "keys/query", "decode tok/s");
  for (int c = 0; c < 3; ++c)
    std::printf("%-24s %10.4f %10.4f %+10.3f%% %16.1f %14.1f %14.1f\n", names[c],
                res[c].agree.top1, res[c].ppl, 100 * (res[c].agree.ppl_ratio - 1),
                double(res[c].cache_bytes) / double(N), keys[c] / double(L * G),
                res[c].decode_tps);
  std::printf("plan vs dense: cache x%.3f, decode x%.3f; vs ice: cache x%.3f, decode x%.3f\n",
              double(res[2].cache_bytes) / double(res[0].cache_bytes),
              res[2].decode_tps / res[0].decode_tps,
              double(res[2].cache_bytes) / double(res[1].cache_bytes),
              res[2].decode_tps / res[1].decode_tps);
  int rc = 0;
  if (f.memory_budget > 0 && res[2].cache_bytes > f.memory_budget) {
    std::fprintf(stderr,
                 "floe plan-heads: the plan's cache at %zu tokens is %zu bytes, over the budget of "
                 "%zu: no plan meets both the targets and the budget (loosen --min-top1 / "
                 "--max-ppl-delta, or shorten --context)\n",
                 N, res[2].cache_bytes, f.memory_budget);
    rc = 1;
  }
  if (!f.out_path.empty()) {
    const std::vector<std::pair<std::string, std::string>> info = {
        {"tool", "\"floe plan-heads\""},
        {"context", std::to_string(N)},
        {"min_top1", Num(f.min_top1)},
        {"max_ppl_delta", Num(f.max_ppl_delta)},
        {"calibration_top1", Num(calib_agree.top1)},
        {"heldout_top1", Num(res[2].agree.top1)},
        {"heldout_ppl_delta", Num(res[2].agree.ppl_ratio - 1)},
        {"cache_bytes_per_token", Num(double(res[2].cache_bytes) / double(N))},
        {"dense_cache_bytes_per_token", Num(double(res[0].cache_bytes) / double(N))}};
    std::ofstream out(f.out_path, std::ios::binary);
    out << HeadPlanToJson(plan, info);
    if (!out) return Fail(IoError("cannot write '" + f.out_path + "'"));
    std::printf("wrote %s\n", f.out_path.c_str());
  }
  return rc;
}

}  // namespace

Verb AddPlanHeads(CLI::App& floe) {
  auto f = std::make_shared<PlanHeadsFlags>();
  CLI::App* app = floe.add_subcommand(
      "plan-heads",
      "calibrate a per-head attention plan against dense on text; measure it on held-out text");
  AddModelFlags(app, &f->model);
  app->add_option("-f,--file", f->text_path,
                  "text: calibration before, evaluation in the last --heldout-frac")
      ->required()
      ->check(ExistingInputFile())
      ->type_name("FILE");
  app->add_option("--min-top1", f->min_top1, "top-1 agreement with dense to keep")
      ->check(RealRange(0, 1));
  app->add_option("--max-ppl-delta", f->max_ppl_delta, "relative perplexity change to allow")
      ->check(RealRange(0, 10));
  app->add_option("--margin", f->margin,
                  "calibration keeps top-1 >= --min-top1 + this (and the ppl delta within "
                  "(1 - this) x --max-ppl-delta), a margin for text it has not seen")
      ->check(RealRange(0, 1));
  app->add_option("--context", f->context, "context length planned for and measured at")
      ->check(IntAtLeast(64));
  app->add_option("--heldout-frac", f->heldout, "the file's last fraction, held out")
      ->check(RealRange(0.001, 0.9));
  app->add_option("--eval-windows", f->eval_windows, "held-out windows of --context tokens")
      ->check(IntAtLeast(1));
  app->add_option("--decode-tokens", f->decode_tokens, "decode steps timed per repetition")
      ->check(IntAtLeast(1));
  app->add_option("-r,--repetitions", f->reps, "decode timing repetitions (median)")
      ->check(IntAtLeast(1));
  app->add_option("--memory-budget", f->memory_budget,
                  "bytes the plan's cache may take at --context (0: no budget)")
      ->check(IntAtLeast(0));
  AddOutputFlag(app, &f->out_path, "the plan (JSON)");
  AddThreadsFlag(app, &f->threads);
  AddAttentionFlags(app, &f->knn, "", "kNN heads and the uniform ice comparison");
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::cli
