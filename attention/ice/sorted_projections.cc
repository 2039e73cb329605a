#include "attention/ice/sorted_projections.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace floe::ice {

size_t SortedProjections::BlockOf(const ProjEntry& e) const {
  const size_t b = size_t(std::lower_bound(fences_.begin(), fences_.end(), e, ProjLess) - fences_.begin());
  return std::min(b, fences_.size() - 1);
}

size_t SortedProjections::BlockOfValue(float value) const {
  return size_t(std::lower_bound(fences_.begin(), fences_.end(), value,
                                 [](const ProjEntry& f, float t) { return f.value < t; }) -
                fences_.begin());
}

void SortedProjections::Insert(ProjEntry e) {
  ++size_;
  if (blocks_.empty()) {
    blocks_.emplace_back();
    blocks_.back().reserve(kMaxBlock / 2);
    blocks_.back().push_back(e);
    fences_.push_back(e);
    return;
  }
  const size_t at = BlockOf(e);
  std::vector<ProjEntry>& b = blocks_[at];
  b.insert(std::upper_bound(b.begin(), b.end(), e, ProjLess), e);
  fences_[at] = b.back();
  if (b.size() <= kMaxBlock) return;
  // Split in halves: both stay sorted and in order.
  std::vector<ProjEntry> upper(b.begin() + b.size() / 2, b.end());
  b.resize(b.size() / 2);
  fences_[at] = b.back();
  fences_.insert(fences_.begin() + at + 1, upper.back());
  blocks_.insert(blocks_.begin() + at + 1, std::move(upper));
}

void SortedProjections::Assign(std::vector<ProjEntry> entries) {
  std::sort(entries.begin(), entries.end(),
            [](const ProjEntry& a, const ProjEntry& b) { return ProjLess(a, b); });
  blocks_.clear();
  fences_.clear();
  size_ = entries.size();
  // Half-full blocks leave room for the inserts that follow a rebuild.
  const size_t per = kMaxBlock / 2;
  for (size_t i = 0; i < entries.size(); i += per) {
    blocks_.emplace_back(entries.begin() + i, entries.begin() + std::min(entries.size(), i + per));
    fences_.push_back(blocks_.back().back());
  }
}

std::vector<ProjEntry> SortedProjections::Flatten() const {
  std::vector<ProjEntry> all;
  all.reserve(size_);
  for (const auto& b : blocks_) all.insert(all.end(), b.begin(), b.end());
  return all;
}

size_t SortedProjections::bytes() const {
  size_t n = blocks_.capacity() * sizeof(std::vector<ProjEntry>) + fences_.capacity() * sizeof(ProjEntry);
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
  const size_t at = list.BlockOfValue(target);
  if (at == blocks.size()) {
    start_block_ = blocks.size() - 1;
    start_off_ = blocks.back().size();
  } else {
    const std::vector<ProjEntry>& b = blocks[at];
    start_block_ = at;
    start_off_ = size_t(std::lower_bound(b.begin(), b.end(), target,
                                         [](const ProjEntry& e, float t) { return e.value < t; }) -
                        b.begin());
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

// Prefetches the line `bytes` away from p, which may lie outside p's block (a prefetch never
// faults; the address is formed as an integer, not as an out-of-range pointer).
inline void PrefetchAt(const void* p, ptrdiff_t bytes) {
  __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(p) + uintptr_t(bytes)));
}

}  // namespace

size_t SortedProjections::Window::Collect(float tau, size_t max, uint32_t* ids) {
  // Each side: a run of entries inside tau within one block is found by the exit test alone;
  // its ids are written unconditionally and the count advances only for eligible ones (no
  // branch on eligibility). The next lines of the scan are prefetched ahead.
  // Members in locals: the id stores could alias them.
  const float target = target_;
  const uint32_t lo = lo_, span = span_;
  size_t n = 0;
  while (!right_done_ && n < max) {
    const std::vector<ProjEntry>& b = (*blocks_)[r_block_];
    const ProjEntry* e = b.data() + r_off_;
    const ProjEntry* const end = b.data() + b.size();
    if (r_block_ + 1 < blocks_->size()) __builtin_prefetch((*blocks_)[r_block_ + 1].data());
    for (; e != end && n < max && e->value - target <= tau; ++e) {
      if ((reinterpret_cast<uintptr_t>(e) & 63) == 0) PrefetchAt(e, kAhead * sizeof(ProjEntry));
      ids[n] = e->id;
      n += e->id - lo <= span;
    }
    r_off_ = size_t(e - b.data());
    if (e != end) break;  // the bound (or max) is reached inside the block
    if (r_block_ + 1 == blocks_->size()) {
      right_done_ = true;
      break;
    }
    ++r_block_;
    r_off_ = 0;
  }
  // (A right side stopped by `max` leaves n == max: the left side then waits its turn.)
  while (!left_done_ && n < max) {
    const std::vector<ProjEntry>& b = (*blocks_)[l_block_];
    const ProjEntry* e = b.data() + l_off_;  // one past the next entry
    const ProjEntry* const begin = b.data();
    if (l_block_ > 0) __builtin_prefetch(&(*blocks_)[l_block_ - 1].back());
    for (; e != begin && n < max && target - e[-1].value <= tau; --e) {
      if ((reinterpret_cast<uintptr_t>(e) & 63) == 0) PrefetchAt(e, -ptrdiff_t(kAhead * sizeof(ProjEntry)));
      ids[n] = e[-1].id;
      n += e[-1].id - lo <= span;
    }
    l_off_ = size_t(e - begin);
    if (e != begin) break;
    if (l_block_ == 0) {
      left_done_ = true;
      break;
    }
    --l_block_;
    l_off_ = (*blocks_)[l_block_].size();
  }
  visited_ += n;
  return n;
}

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
