#include "doc_stats.h"

#include <algorithm>
#include <cmath>

namespace floe::longdoc {

namespace {

// "a ranks above b": more surprising, or as surprising and earlier.
bool Above(const Span& a, const Span& b) {
  return a.nll != b.nll ? a.nll > b.nll : a.first < b.first;
}
// std heap with this comparator keeps the lowest-ranked span at the front.
bool HeapLess(const Span& a, const Span& b) { return Above(a, b); }

}  // namespace

double TokenNll(const float* logits, int vocab, int target) {
  double m = logits[0];
  for (int i = 1; i < vocab; ++i) m = std::max(m, double(logits[i]));
  double sum = 0;
  for (int i = 0; i < vocab; ++i) sum += std::exp(double(logits[i]) - m);
  return std::log(sum) + m - double(logits[target]);
}

void DocStats::Add(size_t p, double nll) {
  nll_sum_ += nll;
  ++count_;
  if (per_token_) token_nll_.push_back(float(nll));
  if (k_ == 0) return;
  if (block_.end == 0) block_ = {p, p, 0};
  block_.nll += nll;
  block_.end = p + 1;
  if (block_.end - block_.first == span_tokens_) {
    Offer(block_);
    block_ = {};
  }
}

void DocStats::Finish() {
  if (block_.end != 0) Offer(block_);
  block_ = {};
}

void DocStats::Offer(const Span& s) {
  if (heap_.size() < k_) {
    heap_.push_back(s);
    std::push_heap(heap_.begin(), heap_.end(), HeapLess);
  } else if (Above(s, heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), HeapLess);
    heap_.back() = s;
    std::push_heap(heap_.begin(), heap_.end(), HeapLess);
  }
}

std::vector<Span> DocStats::TopSpans() const {
  std::vector<Span> v = heap_;
  std::sort(v.begin(), v.end(), Above);
  return v;
}

nlohmann::json DocStats::Save() const {
  nlohmann::json spans = nlohmann::json::array();
  for (const Span& s : heap_) spans.push_back({s.first, s.end, s.nll});
  return {{"nll_sum", nll_sum_},
          {"count", count_},
          {"block", {block_.first, block_.end, block_.nll}},
          {"spans", spans},
          {"token_nll", token_nll_}};
}

bool DocStats::Load(const nlohmann::json& j) {
  try {
    nll_sum_ = j.at("nll_sum").get<double>();
    count_ = j.at("count").get<size_t>();
    const auto& b = j.at("block");
    block_ = {b.at(0).get<size_t>(), b.at(1).get<size_t>(), b.at(2).get<double>()};
    heap_.clear();
    for (const auto& s : j.at("spans"))
      heap_.push_back({s.at(0).get<size_t>(), s.at(1).get<size_t>(), s.at(2).get<double>()});
    std::make_heap(heap_.begin(), heap_.end(), HeapLess);
    token_nll_ = j.at("token_nll").get<std::vector<float>>();
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return true;
}

}  // namespace floe::longdoc
