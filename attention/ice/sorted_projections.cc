#include "attention/ice/sorted_projections.h"

#include <algorithm>

namespace floe::ice {

void SortedProjections::Insert(ProjEntry e) {
  ++size_;
  if (blocks_.empty()) {
    blocks_.emplace_back();
    blocks_.back().reserve(kMaxBlock / 2);
    blocks_.back().push_back(e);
    return;
  }
  // First block whose last entry is not less than e; past the end, the last block.
  auto it = std::lower_bound(blocks_.begin(), blocks_.end(), e,
                             [](const std::vector<ProjEntry>& b, const ProjEntry& x) {
                               return ProjLess(b.back(), x);
                             });
  if (it == blocks_.end()) --it;
  std::vector<ProjEntry>& b = *it;
  b.insert(std::upper_bound(b.begin(), b.end(), e, ProjLess), e);
  if (b.size() <= kMaxBlock) return;
  // Split in halves: both stay sorted and in order.
  std::vector<ProjEntry> upper(b.begin() + b.size() / 2, b.end());
  b.resize(b.size() / 2);
  blocks_.insert(it + 1, std::move(upper));
}

void SortedProjections::Assign(std::vector<ProjEntry> entries) {
  std::sort(entries.begin(), entries.end(), ProjLess);
  blocks_.clear();
  size_ = entries.size();
  // Half-full blocks leave room for the inserts that follow a rebuild.
  const size_t per = kMaxBlock / 2;
  for (size_t i = 0; i < entries.size(); i += per)
    blocks_.emplace_back(entries.begin() + i, entries.begin() + std::min(entries.size(), i + per));
}

std::vector<ProjEntry> SortedProjections::Flatten() const {
  std::vector<ProjEntry> all;
  all.reserve(size_);
  for (const auto& b : blocks_) all.insert(all.end(), b.begin(), b.end());
  return all;
}

size_t SortedProjections::bytes() const {
  size_t n = blocks_.capacity() * sizeof(std::vector<ProjEntry>);
  for (const auto& b : blocks_) n += b.capacity() * sizeof(ProjEntry);
  return n;
}

// ---- Window ----

SortedProjections::Window::Window(const SortedProjections& list, float target, uint32_t lo,
                                  uint32_t hi)
    : blocks_(&list.blocks_), target_(target), lo_(lo), span_(hi - lo) {
  const auto& blocks = list.blocks_;
  if (blocks.empty() || hi < lo) return;  // done()
  // The split: the first entry with value >= target (or the end of the last block).
  auto it = std::lower_bound(blocks.begin(), blocks.end(), target,
                             [](const std::vector<ProjEntry>& b, float t) { return b.back().value < t; });
  if (it == blocks.end()) {
    start_block_ = blocks.size() - 1;
    start_off_ = blocks.back().size();
  } else {
    start_block_ = size_t(it - blocks.begin());
    start_off_ = size_t(std::lower_bound(it->begin(), it->end(), target,
                                         [](const ProjEntry& e, float t) { return e.value < t; }) -
                        it->begin());
  }
  r_block_ = l_block_ = start_block_;
  r_off_ = l_off_ = start_off_;
  right_done_ = left_done_ = false;
}

namespace {

// The `count`-th eligible entry (1-based) right of (block, off) inclusive, or the last
// eligible one found; nullptr when none.
template <class Eligible>
const ProjEntry* NthRight(const std::vector<std::vector<ProjEntry>>& blocks, size_t b, size_t o,
                          size_t count, Eligible eligible) {
  const ProjEntry* last = nullptr;
  for (; b < blocks.size(); ++b, o = 0)
    for (; o < blocks[b].size(); ++o)
      if (eligible(blocks[b][o].id)) {
        last = &blocks[b][o];
        if (--count == 0) return last;
      }
  return last;
}

// The same leftwards from one before (block, off).
template <class Eligible>
const ProjEntry* NthLeft(const std::vector<std::vector<ProjEntry>>& blocks, size_t b, size_t o,
                         size_t count, Eligible eligible) {
  const ProjEntry* last = nullptr;
  for (;;) {
    for (; o > 0; --o)
      if (eligible(blocks[b][o - 1].id)) {
        last = &blocks[b][o - 1];
        if (--count == 0) return last;
      }
    if (b == 0) return last;
    --b;
    o = blocks[b].size();
  }
}

}  // namespace

float SortedProjections::Window::next_distance() const {
  if (blocks_ == nullptr || blocks_->empty()) return kInf;
  auto eligible = [this](uint32_t id) { return Eligible(id); };
  float d = kInf;
  if (!right_done_)
    if (const ProjEntry* e = NthRight(*blocks_, r_block_, r_off_, 1, eligible)) d = std::min(d, e->value - target_);
  if (!left_done_)
    if (const ProjEntry* e = NthLeft(*blocks_, l_block_, l_off_, 1, eligible)) d = std::min(d, target_ - e->value);
  return d;
}

float SortedProjections::Window::SpanOf(size_t h) const {
  if (blocks_ == nullptr || blocks_->empty() || h == 0 || done()) return 0.0f;
  auto eligible = [this](uint32_t id) { return Eligible(id); };
  float d = 0.0f;
  if (const ProjEntry* e = NthRight(*blocks_, start_block_, start_off_, h, eligible)) d = std::max(d, e->value - target_);
  if (const ProjEntry* e = NthLeft(*blocks_, start_block_, start_off_, h, eligible)) d = std::max(d, target_ - e->value);
  return d;
}

}  // namespace floe::ice
