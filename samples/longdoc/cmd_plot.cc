// floe longdoc plot: surprisal along each document, from a `floe longdoc score --per-token`
// results file, drawn as an SVG written directly (no gnuplot): one polyline per document, the
// per-token NLL smoothed by a moving average, x = token position, y = nats.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks.h"
#include "durable_file.h"
#include "longdoc.h"

namespace floe::longdoc {

namespace {

struct PlotFlags {
  std::string results;
  std::string out;
  size_t smooth = 64;
};

struct Series {
  std::string name;
  std::vector<double> y;  // smoothed NLL per position
};

// Escapes text for an SVG text node.
std::string Xml(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else if (c == '"')
      o += "&quot;";
    else
      o += c;
  }
  return o;
}

std::vector<double> MovingAverage(const std::vector<double>& v, size_t w) {
  std::vector<double> out(v.size());
  double sum = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    sum += v[i];
    if (i >= w) sum -= v[i - w];
    out[i] = sum / double(std::min(i + 1, w));
  }
  return out;
}

int Run(const PlotFlags& f) {
  std::ifstream in(f.results);
  if (!in) {
    std::fprintf(stderr, "floe longdoc plot: cannot open '%s'\n", f.results.c_str());
    return 1;
  }
  std::vector<Series> series;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      std::fprintf(stderr, "floe longdoc plot: %s:%zu: not JSON\n", f.results.c_str(), n);
      return 1;
    }
    auto t = j.find("token_nll");
    if (t == j.end() || !t->is_array() || t->empty()) continue;  // error lines, no --per-token
    std::vector<double> v;
    for (const auto& x : *t)
      if (x.is_number()) v.push_back(x.get<double>());
    const std::string name = j.value("document", "line " + std::to_string(n));
    series.push_back({name, MovingAverage(v, f.smooth)});
  }
  if (series.empty()) {
    std::fprintf(stderr, "floe longdoc plot: '%s' has no token_nll (score with --per-token)\n",
                 f.results.c_str());
    return 1;
  }
  size_t xmax = 1;
  double ymax = 1e-9;
  for (const Series& s : series) {
    xmax = std::max(xmax, s.y.size());
    for (double y : s.y) ymax = std::max(ymax, y);
  }
  ymax = std::ceil(ymax);
  const double W = 900, H = 400, L = 60, R = 20, T = 20, B = 50;
  const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
  std::string svg;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                "font-family=\"sans-serif\" font-size=\"12\">\n",
                W, H + 20.0 * double(series.size()));
  svg += buf;
  std::snprintf(buf, sizeof buf,
                "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" "
                "stroke=\"#888\"/>\n",
                L, T, W - L - R, H - T - B);
  svg += buf;
  std::snprintf(buf, sizeof buf,
                "<text x=\"%.0f\" y=\"%.0f\">0</text><text x=\"%.0f\" y=\"%.0f\" "
                "text-anchor=\"end\">%zu tokens</text><text x=\"5\" y=\"%.0f\">%.0f nats</text>"
                "<text x=\"5\" y=\"%.0f\">0</text>\n",
                L, H - B + 15, W - R, H - B + 15, xmax, T + 10, ymax, H - B);
  svg += buf;
  std::snprintf(buf, sizeof buf,
                "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">surprisal (NLL, moving "
                "average of %zu tokens) along each document</text>\n",
                (W + L - R) / 2, H - 15, f.smooth);
  svg += buf;
  for (size_t k = 0; k < series.size(); ++k) {
    const Series& s = series[k];
    const char* color = colors[k % (sizeof colors / sizeof colors[0])];
    svg += "<polyline fill=\"none\" stroke-width=\"1\" stroke=\"";
    svg += color;
    svg += "\" points=\"";
    // At most ~2 points per pixel column.
    const size_t step = std::max<size_t>(1, s.y.size() / size_t(2 * (W - L - R)));
    for (size_t i = 0; i < s.y.size(); i += step) {
      std::snprintf(buf, sizeof buf, "%.1f,%.1f ",
                    L + (W - L - R) * double(i) / double(std::max<size_t>(xmax - 1, 1)),
                    (H - B) - (H - T - B) * s.y[i] / ymax);
      svg += buf;
    }
    svg += "\"/>\n";
    std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">", L,
                  H + 20.0 * double(k) + 5, color);
    svg += buf;
    svg += Xml(s.name) + "</text>\n";
  }
  svg += "</svg>\n";
  std::string error;
  if (!WriteFileAtomically(f.out, svg, &error)) {
    std::fprintf(stderr, "floe longdoc plot: %s\n", error.c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %zu documents to %s\n", series.size(), f.out.c_str());
  return 0;
}

}  // namespace

cli::Verb AddPlot(CLI::App& longdoc) {
  auto f = std::make_shared<PlotFlags>();
  CLI::App* app = longdoc.add_subcommand(
      "plot", "SVG of smoothed surprisal along each document (from score --per-token results)");
  app->add_option("results", f->results, "results of floe longdoc score --per-token")
      ->required()
      ->check(cli::ExistingInputFile())
      ->type_name("FILE.jsonl");
  app->add_option("-o,--out", f->out, "SVG file to write")->required()->type_name("FILE.svg");
  app->add_option("--smooth", f->smooth, "moving average window, tokens")
      ->check(cli::IntAtLeast(1));
  return {app, [f] { return Run(*f); }};
}

}  // namespace floe::longdoc
