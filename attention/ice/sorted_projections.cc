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
    : list_(&list), target_(target), lo_(lo), hi_(hi) {
  const auto& blocks = list.blocks_;
  // right_ = first entry with value >= target, left_ = the one before it.
  auto it = std::lower_bound(blocks.begin(), blocks.end(), target,
                             [](const std::vector<ProjEntry>& b, float t) { return b.back().value < t; });
  right_.block = it - blocks.begin();
  right_.off = 0;
  if (it != blocks.end()) {
    right_.off = std::lower_bound(it->begin(), it->end(), target,
                                  [](const ProjEntry& e, float t) { return e.value < t; }) -
                 it->begin();
  }
  left_ = right_;
  StepLeft(&left_);
  SkipLeft();
  SkipRight();
  Choose();
}

bool SortedProjections::Walker::Valid(const Cursor& c) const {
  return c.block >= 0 && size_t(c.block) < list_->blocks_.size();
}

const ProjEntry& SortedProjections::Walker::At(const Cursor& c) const {
  return list_->blocks_[size_t(c.block)][c.off];
}

void SortedProjections::Walker::StepLeft(Cursor* c) const {
  if (c->block >= int64_t(list_->blocks_.size())) {  // from one past the end
    c->block = int64_t(list_->blocks_.size()) - 1;
    c->off = c->block >= 0 ? list_->blocks_[size_t(c->block)].size() - 1 : 0;
    return;
  }
  if (c->off > 0) {
    --c->off;
  } else {
    --c->block;
    if (c->block >= 0) c->off = list_->blocks_[size_t(c->block)].size() - 1;
  }
}

void SortedProjections::Walker::StepRight(Cursor* c) const {
  if (++c->off >= list_->blocks_[size_t(c->block)].size()) {
    ++c->block;
    c->off = 0;
  }
}

void SortedProjections::Walker::SkipLeft() {
  while (Valid(left_) && (At(left_).id < lo_ || At(left_).id > hi_)) StepLeft(&left_);
}

void SortedProjections::Walker::SkipRight() {
  // A right_ cursor may sit at offset == size of a block only transiently (StepRight fixes it).
  if (right_.block >= 0 && size_t(right_.block) < list_->blocks_.size() &&
      right_.off >= list_->blocks_[size_t(right_.block)].size()) {
    ++right_.block;
    right_.off = 0;
  }
  while (Valid(right_) && (At(right_).id < lo_ || At(right_).id > hi_)) StepRight(&right_);
}

void SortedProjections::Walker::Choose() {
  const bool l = Valid(left_), r = Valid(right_);
  if (!l && !r) {
    next_ = nullptr;
    priority_ = std::numeric_limits<float>::infinity();
    return;
  }
  const float dl = l ? target_ - At(left_).value : std::numeric_limits<float>::infinity();
  const float dr = r ? At(right_).value - target_ : std::numeric_limits<float>::infinity();
  next_is_right_ = r && dr <= dl;
  next_ = next_is_right_ ? &At(right_) : &At(left_);
  priority_ = next_is_right_ ? dr : dl;
}

void SortedProjections::Walker::Advance() {
  if (next_is_right_) {
    StepRight(&right_);
    SkipRight();
  } else {
    StepLeft(&left_);
    SkipLeft();
  }
  Choose();
}

}  // namespace floe::ice
