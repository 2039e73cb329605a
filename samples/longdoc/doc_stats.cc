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

void DocStats::Add(size_t p, double nll, uint64_t byte) {
  nll_sum_ += nll;
  ++count_;
  if (per_token_) token_nll_.push_back(float(nll));
  if (k_ == 0) return;
  if (closed_.end != 0) {  // token p starts where the closed block's bytes end
    closed_.byte1 = byte;
    Offer(closed_);
    closed_ = {};
  }
  if (block_.end == 0) block_ = {p, p, 0, byte, 0};
  block_.nll += nll;
  block_.end = p + 1;
  if (block_.end - block_.first == span_tokens_) {
    closed_ = block_;
    block_ = {};
  }
}

void DocStats::Finish(uint64_t end_byte) {
  for (Span* s : {&closed_, &block_})
    if (s->end != 0) {
      s->byte1 = end_byte;
      Offer(*s);
      *s = {};
    }
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
  auto row = [](const Span& s) {
    return nlohmann::json::array({s.first, s.end, s.nll, s.byte0, s.byte1});
  };
  for (const Span& s : heap_) spans.push_back(row(s));
  return {{"nll_sum", nll_sum_},
          {"count", count_},
          {"block", row(block_)},
          {"closed", row(closed_)},
          {"spans", spans},
          {"token_nll", token_nll_}};
}

bool DocStats::Load(const nlohmann::json& j) {
  try {
    nll_sum_ = j.at("nll_sum").get<double>();
    count_ = j.at("count").get<size_t>();
    auto span = [](const nlohmann::json& s) {
      return Span{s.at(0).get<size_t>(), s.at(1).get<size_t>(), s.at(2).get<double>(),
                  s.at(3).get<uint64_t>(), s.at(4).get<uint64_t>()};
    };
    block_ = span(j.at("block"));
    closed_ = span(j.at("closed"));
    heap_.clear();
    for (const auto& s : j.at("spans")) heap_.push_back(span(s));
    std::make_heap(heap_.begin(), heap_.end(), HeapLess);
    token_nll_ = j.at("token_nll").get<std::vector<float>>();
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return true;
}

}  // namespace floe::longdoc
