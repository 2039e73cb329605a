#include "head_stats.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <mutex>

#include "attention/attention_probe.h"
#include "text_file.h"
#include "platform/kernels/ops.h"
#include "runtime/engine/session.h"

namespace floe::cli {

namespace {

struct Key {
  size_t layer, head, kv_head;
  bool operator<(const Key& o) const {
    return layer != o.layer ? layer < o.layer : head < o.head;
  }
};

class StatsProbe final : public AttentionProbe {
 public:
  StatsProbe(size_t every, size_t min_pos) : every_(every), min_pos_(min_pos) {}
  bool Wants(size_t, size_t, size_t p) const override { return p >= min_pos_ && p % every_ == 0; }
  void Record(const AttentionProbeEvent& e) override {
    const KvCache& c = *e.cache;
    const size_t n = e.position + 1, hd = c.head_dim();
    std::vector<double> w(n);
    const double scale = 1.0 / std::sqrt(double(hd));
    double mx = -INFINITY;
    for (size_t s = 0; s < n; ++s) {
      const float* k = static_cast<const float*>(c.Key(e.cache_layer, s, e.cache_kv_head));
      w[s] = double(Dot(e.q, k, hd)) * scale;
      mx = std::max(mx, w[s]);
    }
    double z = 0;
    for (double& x : w) z += (x = std::exp(x - mx));
    double entropy = 0;
    for (double& x : w) {
      x /= z;
      if (x > 0) entropy -= x * std::log(x);
    }
    HeadStats h;
    for (size_t i = 0; i < kRecentWindows.size(); ++i) {
      const size_t from = n - std::min(n, kRecentWindows[i]);
      for (size_t s = from; s < n; ++s) h.recent[i] += w[s];
    }
    h.entropy = entropy;
    const size_t top = std::min(n, kTopKeys);
    std::nth_element(w.begin(), w.begin() + top - 1, w.end(), std::greater<double>());
    for (size_t i = 0; i < top; ++i) h.top32 += w[i];
    std::lock_guard<std::mutex> lock(mu_);
    HeadStats& a = sums_[Key{e.layer, e.head, e.kv_head}];
    for (size_t i = 0; i < h.recent.size(); ++i) a.recent[i] += h.recent[i];
    a.entropy += h.entropy;
    a.top32 += h.top32;
    ++a.queries;
    kv_of_[e.head] = e.kv_head;
  }

  size_t every_, min_pos_;
  std::mutex mu_;
  std::map<Key, HeadStats> sums_;
  std::map<size_t, size_t> kv_of_;
};

}  // namespace

namespace {

// The first line start at or after byte `at` of the file (`at` itself at 0 or after a '\n'),
// or the file's size.
Result<size_t> NextLine(const std::string& path, size_t at, size_t size) {
  if (at == 0 || at >= size) return std::min(at, size);
  FLOE_ASSIGN_OR_RETURN(const size_t nl, FindNewline(path, at - 1));
  return nl == size ? size : nl + 1;  // nl == at - 1: `at` starts a line
}

}  // namespace

Result<std::vector<int32_t>> ReadTextTokens(const Model& model, const std::string& path,
                                            size_t begin, size_t end) {
  const Tokenizer* tok = model.tokenizer();
  if (!tok) return InvalidArgument("the model has no vocabulary; pass -z");
  FLOE_ASSIGN_OR_RETURN(const size_t size, TextFileSize(path));
  if (end == 0 || end > size) end = size;
  FLOE_ASSIGN_OR_RETURN(begin, NextLine(path, begin, size));
  if (begin >= end) return InvalidArgument("'" + path + "': no text in the range asked for");
  FLOE_ASSIGN_OR_RETURN(const std::string text, ReadTextRange(path, begin, end - begin));
  return tok->Encode(text, /*add_bos=*/false);
}

Result<std::pair<size_t, size_t>> HeldOutStart(const std::string& path, double frac) {
  FLOE_ASSIGN_OR_RETURN(const size_t size, TextFileSize(path));
  FLOE_ASSIGN_OR_RETURN(const size_t at, NextLine(path, size_t(double(size) * (1.0 - frac)), size));
  return std::make_pair(at, size);
}

HeadStats HeadStatsTable::KvHead(size_t layer, size_t kv_head) const {
  const size_t group = n_heads / n_kv_heads;
  HeadStats r = at(layer, kv_head * group);
  for (size_t g = 1; g < group; ++g) {
    const HeadStats& h = at(layer, kv_head * group + g);
    for (size_t i = 0; i < r.recent.size(); ++i) r.recent[i] = std::min(r.recent[i], h.recent[i]);
    r.entropy = std::max(r.entropy, h.entropy);
    r.top32 = std::min(r.top32, h.top32);
    r.queries += h.queries;
  }
  return r;
}

Result<HeadStatsTable> MeasureHeadStats(const Model& model, std::span<const int32_t> tokens,
                                        size_t ctx, size_t windows, size_t every, size_t min_pos,
                                        int threads) {
  const Tokenizer* tok = model.tokenizer();
  if (!tok) return InvalidArgument("the model has no vocabulary; pass -z");
  const size_t per = ctx - 1;
  if (tokens.size() < per * windows)
    return InvalidArgument("the text gives " + std::to_string(tokens.size()) + " tokens, " +
                           std::to_string(per * windows) + " needed");
  StatsProbe probe(std::max<size_t>(every, 1), min_pos);
  SessionParams p;
  p.threads = threads;
  p.context_length = ctx;
  p.attention.backend = AttentionBackend::kIce;  // every query dense: see head_stats.h
  p.attention.dense_below = ctx + 1;
  p.attention.window = std::min(p.attention.window, ctx);
  p.attention.sinks = std::min(p.attention.sinks, ctx);
  p.attention_probe = &probe;
  for (size_t w = 0; w < windows; ++w) {
    FLOE_ASSIGN_OR_RETURN(auto s, Session::Create(model, p));
    std::vector<int32_t> window = {tok->bos()};
    window.insert(window.end(), tokens.begin() + w * per, tokens.begin() + (w + 1) * per);
    FLOE_RETURN_IF_ERROR(s->Eval(window));
  }
  if (probe.sums_.empty())
    return InvalidArgument("architecture '" + model.lm().architecture() +
                           "': no attention query was measured (no attention heads, or a "
                           "context shorter than the first measured position)");
  HeadStatsTable t;
  for (const auto& [k, v] : probe.sums_) {
    t.n_layers = std::max(t.n_layers, k.layer + 1);
    t.n_heads = std::max(t.n_heads, k.head + 1);
    t.n_kv_heads = std::max(t.n_kv_heads, k.kv_head + 1);
  }
  t.heads.resize(t.n_layers * t.n_heads);
  for (const auto& [k, v] : probe.sums_) {
    HeadStats& h = t.heads[k.layer * t.n_heads + k.head];
    const double n = double(std::max<size_t>(v.queries, 1));
    for (size_t i = 0; i < h.recent.size(); ++i) h.recent[i] = v.recent[i] / n;
    h.entropy = v.entropy / n;
    h.top32 = v.top32 / n;
    h.queries = v.queries;
  }
  return t;
}

}  // namespace floe::cli
