// floe analyze-heads: per (layer, head), where its attention goes on real text (head_stats.h):
// the mass on the last 16/64/256 keys (RecurFormer's recency measure), the entropy, and the mass
// of the 32 largest weights; a table on stdout, JSON with --json, and an SVG heatmap of recency
// by layer and head with --svg (written directly: one rect per cell, no plotting dependency).
// --head-plan FILE shows, beside each head's measures, the mode that plan gives its KV head (the
// measures stay those of exact attention: they are what a plan is chosen from).
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "attention_flags.h"
#include "checks.h"
#include "commands.h"
#include "head_stats.h"
#include "load_flags.h"
#include "session_flags.h"

namespace floe::cli {

namespace {

struct AnalyzeHeadsFlags {
  ModelFlags model;
  std::string text_path;
  size_t ctx = 2048;
  long windows = 1;
  double skip = 0.0;
  long every = 8;
  int threads = 0;
  bool json = false;
  std::string svg_path;
  std::optional<HeadPlan> head_plan;
};

// White (0) to dark blue (1).
std::string Shade(double v) {
  v = std::min(1.0, std::max(0.0, v));
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", int(255 - 225 * v), int(255 - 200 * v),
                int(255 - 95 * v));
  return buf;
}

// Text for an SVG element: &, <, > and quotes escaped (titles carry file paths).
std::string XmlText(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

// The mode of query head h's KV head in layer l, or "" without a plan.
std::string PlannedMode(const std::optional<ResolvedHeadPlan>& plan, const HeadStatsTable& t,
                        size_t l, size_t h) {
  return plan ? plan->at(l, h / (t.n_heads / t.n_kv_heads)).ToString() : "";
}

std::string Svg(const HeadStatsTable& t, const std::optional<ResolvedHeadPlan>& plan,
                const std::string& title) {
  const int cell = 36, gap = 40, left = 60, top = 60;
  const int panel_w = int(t.n_heads) * cell;
  const int width = left + 3 * panel_w + 2 * gap + 20;
  const int height = top + int(t.n_layers) * cell + 40;
  std::string o = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                  "\" height=\"" + std::to_string(height) +
                  "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += "<text x=\"" + std::to_string(left) + "\" y=\"18\" font-size=\"13\">" + XmlText(title) +
       "</text>\n";
  for (size_t w = 0; w < kRecentWindows.size(); ++w) {
    const int x0 = left + int(w) * (panel_w + gap);
    o += "<text x=\"" + std::to_string(x0) + "\" y=\"" + std::to_string(top - 22) +
         "\">mass on the last " + std::to_string(kRecentWindows[w]) + " keys</text>\n";
    for (size_t h = 0; h < t.n_heads; ++h)
      o += "<text x=\"" + std::to_string(x0 + int(h) * cell + cell / 2) + "\" y=\"" +
           std::to_string(top - 6) + "\" text-anchor=\"middle\">h" + std::to_string(h) +
           "</text>\n";
    for (size_t l = 0; l < t.n_layers; ++l) {
      if (w == 0)
        o += "<text x=\"" + std::to_string(left - 8) + "\" y=\"" +
             std::to_string(top + int(l) * cell + cell / 2 + 4) + "\" text-anchor=\"end\">layer " +
             std::to_string(l) + "</text>\n";
      for (size_t h = 0; h < t.n_heads; ++h) {
        const double v = t.at(l, h).recent[w];
        const int x = x0 + int(h) * cell, y = top + int(l) * cell;
        char val[16];
        std::snprintf(val, sizeof val, "%.2f", v);
        o += "<rect x=\"" + std::to_string(x) + "\" y=\"" + std::to_string(y) + "\" width=\"" +
             std::to_string(cell - 1) + "\" height=\"" + std::to_string(cell - 1) + "\" fill=\"" +
             Shade(v) + "\"><title>layer " + std::to_string(l) + " head " + std::to_string(h) +
             ": " + val + (plan ? ", plan: " + PlannedMode(plan, t, l, h) : "") +
             "</title></rect>\n";
        o += "<text x=\"" + std::to_string(x + cell / 2) + "\" y=\"" +
             std::to_string(y + cell / 2 + 4) + "\" text-anchor=\"middle\" fill=\"" +
             (v > 0.55 ? "white" : "black") + "\">" + val + "</text>\n";
      }
    }
  }
  o += "</svg>\n";
  return o;
}

int Run(const AnalyzeHeadsFlags& f) {
  ProgressLine progress(f.model.progress);
  auto model = LoadModel(f.model.model, f.model.load, &progress);
  if (!model.ok()) {
    std::fprintf(stderr, "floe analyze-heads: %s\n", model.status().ToString().c_str());
    return 1;
  }
  auto text = HeldOutStart(f.text_path, 1.0 - f.skip);
  if (!text.ok()) {
    std::fprintf(stderr, "floe analyze-heads: %s\n", text.status().ToString().c_str());
    return 1;
  }
  const size_t end = std::min(text->second, text->first + f.ctx * size_t(f.windows) * 24);
  auto ids = ReadTextTokens(**model, f.text_path, text->first, end);
  if (!ids.ok()) {
    std::fprintf(stderr, "floe analyze-heads: %s\n", ids.status().ToString().c_str());
    return 1;
  }
  const size_t min_pos = f.ctx > 512 ? 256 : 0;
  auto t = MeasureHeadStats(**model, *ids, f.ctx, size_t(f.windows), size_t(f.every), min_pos,
                            f.threads);
  if (!t.ok()) {
    std::fprintf(stderr, "floe analyze-heads: %s\n", t.status().ToString().c_str());
    return 1;
  }
  std::optional<ResolvedHeadPlan> plan;
  if (f.head_plan) {
    auto r = f.head_plan->Resolve(t->n_layers, t->n_kv_heads, f.ctx,
                                  (*model)->lm().has_recurrent_heads());
    if (!r.ok()) {
      std::fprintf(stderr, "floe analyze-heads: --head-plan: %s\n", r.status().message().c_str());
      return 1;
    }
    plan = std::move(r).value();
  }
  if (f.json) {
    nlohmann::json j;
    j["model"] = f.model.model;
    j["text"] = f.text_path;
    j["ctx"] = f.ctx;
    j["windows"] = f.windows;
    j["sample_every"] = f.every;
    j["first_position"] = min_pos;
    j["n_layers"] = t->n_layers;
    j["n_heads"] = t->n_heads;
    j["n_kv_heads"] = t->n_kv_heads;
    nlohmann::json heads = nlohmann::json::array();
    for (size_t l = 0; l < t->n_layers; ++l)
      for (size_t h = 0; h < t->n_heads; ++h) {
        const HeadStats& s = t->at(l, h);
        heads.push_back({{"layer", l},
                         {"head", h},
                         {"kv_head", h / (t->n_heads / t->n_kv_heads)},
                         {"recent16", s.recent[0]},
                         {"recent64", s.recent[1]},
                         {"recent256", s.recent[2]},
                         {"entropy", s.entropy},
                         {"top32", s.top32},
                         {"queries", s.queries}});
        if (plan) heads.back()["plan"] = PlannedMode(plan, *t, l, h);
      }
    j["heads"] = heads;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("model: %s\ntext: %s, %ld window(s) of %zu tokens, every %ld-th position >= %zu\n",
                f.model.model.c_str(), f.text_path.c_str(), f.windows, f.ctx, f.every, min_pos);
    std::printf("%-6s %-5s %-4s %8s %8s %9s %8s %8s%s\n", "layer", "head", "kv", "last16", "last64",
                "last256", "entropy", "top32", plan ? "  plan" : "");
    for (size_t l = 0; l < t->n_layers; ++l)
      for (size_t h = 0; h < t->n_heads; ++h) {
        const HeadStats& s = t->at(l, h);
        std::printf("%-6zu %-5zu %-4zu %8.3f %8.3f %9.3f %8.3f %8.3f%s%s\n", l, h,
                    h / (t->n_heads / t->n_kv_heads), s.recent[0], s.recent[1], s.recent[2],
                    s.entropy, s.top32, plan ? "  " : "", PlannedMode(plan, *t, l, h).c_str());
      }
  }
  if (!f.svg_path.empty()) {
    std::ofstream out(f.svg_path, std::ios::binary);
    const std::string name = f.model.model.substr(f.model.model.find_last_of('/') + 1);
    out << Svg(*t, plan, "attention mass on recent keys, by layer and head: " + name);
    if (!out) {
      std::fprintf(stderr, "floe analyze-heads: cannot write '%s'\n", f.svg_path.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace

Verb AddAnalyzeHeads(CLI::App& floe) {
  auto f = std::make_shared<AnalyzeHeadsFlags>();
  CLI::App* app = floe.add_subcommand(
      "analyze-heads",
      "per (layer, head) on real text: attention mass on the last 16/64/256 keys, entropy, top-32 mass");
  AddModelFlags(app, &f->model);
  app->add_option("-f,--file", f->text_path, "text to analyze")
      ->required()
      ->check(ExistingInputFile())
      ->type_name("FILE");
  AddContextFlag(app, &f->ctx, "tokens per window (BOS + ctx - 1 text tokens)")
      ->check(IntAtLeast(2));
  app->add_option("--windows", f->windows, "windows of --ctx tokens analyzed")
      ->check(IntAtLeast(1));
  app->add_option("--skip-frac", f->skip, "start this far into the text's bytes, at the next line")
      ->check(RealRange(0, 1, /*max_open=*/true));
  app->add_option("--sample-every", f->every, "measure every S-th position")->check(IntAtLeast(1));
  AddThreadsFlag(app, &f->threads);
  app->add_flag("--json", f->json, "JSON instead of the table");
  app->add_option("--svg", f->svg_path, "also write a heatmap of recency by layer and head")
      ->type_name("FILE");
  AddHeadPlanFlag(app, &f->head_plan, "Options");
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::cli
