// One simple index of Prioritized DCI (Li & Malik 2017): the keys of one index sorted
// by their projection onto one random direction, kept sorted under streaming inserts.
//
// Storage is a list of sorted blocks (at most kMaxBlock entries each, split in halves when
// full), so an insert moves at most one block's entries plus one pointer per block, instead of
// the whole array: O(kMaxBlock + n / kMaxBlock) per insert. Entries are ordered by
// (value, id); ids are unique, so the order, and therefore every traversal, depends only on
// the set of entries, never on the order they were inserted in or on the block layout.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace floe::ice {

struct ProjEntry {
  float value;  // projection of the (transformed) key onto the index's direction
  uint32_t id;  // key id (the token position)
};

inline bool ProjLess(const ProjEntry& a, const ProjEntry& b) {
  return a.value < b.value || (a.value == b.value && a.id < b.id);
}

class SortedProjections {
 public:
  static constexpr size_t kMaxBlock = 512;

  void Clear() { blocks_.clear(); size_ = 0; }
  size_t size() const { return size_; }
  // Inserts one entry whose id is not present yet.
  void Insert(ProjEntry e);
  // Replaces the contents with `entries` (any order; ids unique).
  void Assign(std::vector<ProjEntry> entries);
  // All entries in order (tests, debugging).
  std::vector<ProjEntry> Flatten() const;
  size_t bytes() const;

  // A window [target - tau, target + tau] over the entries whose id lies in [lo, hi], that
  // only grows: the batched form of DCI's "next closest projection". Grow(tau, visit) visits
  // the eligible entries that newly fall inside (the right side outward, then the left side
  // outward), each exactly once over the window's life. The visit loops are plain forward/
  // backward scans over the sorted blocks with one predictable exit test per entry, which is
  // what makes a search cheap: a per-entry choice between two sides (or between lists)
  // mispredicts about half of the time. Entries outside [lo, hi] never influence anything (so
  // a causal query gives the same answer whatever later keys the index holds). The list must
  // not change while a Window is in use.
  class Window {
   public:
    Window() = default;
    Window(const SortedProjections& list, float target, uint32_t lo, uint32_t hi);
    // Visits the eligible entries with |value - target| <= tau not visited yet, calling
    // visit(id) for each; visit returns false to stop at once (the window then ends right
    // after that entry). Returns false when stopped so.
    template <class Visit>
    bool Grow(float tau, Visit&& visit);
    // Distance |value - target| of the nearest eligible entry still outside; +infinity when
    // none is left.
    float next_distance() const;
    bool done() const { return right_done_ && left_done_; }
    size_t visited() const { return visited_; }  // eligible entries visited
    // The smallest tau that covers `h` eligible entries on each side of target (fewer where a
    // side runs out; 0 when nothing is eligible): a first window size.
    float SpanOf(size_t h) const;

   private:
    static constexpr float kInf = std::numeric_limits<float>::infinity();
    bool Eligible(uint32_t id) const { return id - lo_ <= span_; }
    const std::vector<std::vector<ProjEntry>>* blocks_ = nullptr;
    float target_ = 0.0f;
    uint32_t lo_ = 0, span_ = 0;              // eligible: id - lo_ <= span_ (unsigned)
    size_t start_block_ = 0, start_off_ = 0;  // first entry with value >= target (the split)
    size_t r_block_ = 0, r_off_ = 0;          // next entry on the right
    size_t l_block_ = 0, l_off_ = 0;          // one past the next entry on the left
    bool right_done_ = true, left_done_ = true;
    size_t visited_ = 0;
  };

 private:
  std::vector<std::vector<ProjEntry>> blocks_;  // each non-empty and sorted; blocks in order
  size_t size_ = 0;
};

template <class Visit>
bool SortedProjections::Window::Grow(float tau, Visit&& visit) {
  while (!right_done_) {
    const std::vector<ProjEntry>& b = (*blocks_)[r_block_];
    const ProjEntry* e = b.data() + r_off_;
    const ProjEntry* const end = b.data() + b.size();
    bool stop = false;
    for (; e != end && e->value - target_ <= tau; ++e) {
      if (!Eligible(e->id)) continue;
      ++visited_;
      if (!visit(e->id)) {
        stop = true;
        ++e;
        break;
      }
    }
    r_off_ = size_t(e - b.data());
    if (stop) return false;
    if (e != end) break;  // the bound is reached inside the block
    if (r_block_ + 1 == blocks_->size()) {
      right_done_ = true;
      break;
    }
    ++r_block_;
    r_off_ = 0;
  }
  while (!left_done_) {
    const std::vector<ProjEntry>& b = (*blocks_)[l_block_];
    const ProjEntry* e = b.data() + l_off_;  // one past the next entry
    const ProjEntry* const begin = b.data();
    bool stop = false;
    for (; e != begin && target_ - e[-1].value <= tau; --e) {
      if (!Eligible(e[-1].id)) continue;
      ++visited_;
      if (!visit(e[-1].id)) {
        stop = true;
        --e;
        break;
      }
    }
    l_off_ = size_t(e - begin);
    if (stop) return false;
    if (e != begin) break;
    if (l_block_ == 0) {
      left_done_ = true;
      break;
    }
    --l_block_;
    l_off_ = (*blocks_)[l_block_].size();
  }
  return true;
}

}  // namespace floe::ice
