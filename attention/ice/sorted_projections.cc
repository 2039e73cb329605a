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

// ---- Walker ----

SortedProjections::Walker::Walker(const SortedProjections& list, float target, uint32_t lo,
                                  uint32_t hi)
    : blocks_(&list.blocks_), target_(target), lo_(lo), span_(hi - lo) {
  if (hi < lo || list.blocks_.empty()) return;  // nothing eligible: done()
  const auto& blocks = list.blocks_;
  // The right side starts at the first entry with value >= target, the left one before it.
  auto it = std::lower_bound(blocks.begin(), blocks.end(), target,
                             [](const std::vector<ProjEntry>& b, float t) { return b.back().value < t; });
  if (it == blocks.end()) {
    r_block_ = blocks.size() - 1;
    r_ = r_end_ = blocks.back().data() + blocks.back().size();
  } else {
    r_block_ = size_t(it - blocks.begin());
    r_end_ = it->data() + it->size();
    r_ = it->data() + (std::lower_bound(it->begin(), it->end(), target,
                                        [](const ProjEntry& e, float t) { return e.value < t; }) -
                       it->begin());
  }
  l_block_ = r_block_;
  l_begin_ = blocks[l_block_].data();
  l_ = r_;
  SkipRight();
  SkipLeft();
}

bool SortedProjections::Walker::NextBlock() {
  if (r_block_ + 1 >= blocks_->size()) return false;
  const auto& b = (*blocks_)[++r_block_];
  r_ = b.data();
  r_end_ = b.data() + b.size();
  return true;
}

bool SortedProjections::Walker::PrevBlock() {
  if (l_block_ == 0) return false;
  const auto& b = (*blocks_)[--l_block_];
  l_begin_ = b.data();
  l_ = b.data() + b.size();
  return true;
}

}  // namespace floe::ice
