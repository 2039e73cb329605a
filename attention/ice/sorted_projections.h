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

  // Visits the entries whose id lies in [lo, hi] in increasing |value - target|: the
  // "next closest projection" of DCI. Ties go to the right-hand (larger) side. The list must
  // not change while a Walker is in use. Advance() is inline: it is the inner loop of the
  // search (one call per visited projection).
  class Walker {
   public:
    Walker() = default;
    Walker(const SortedProjections& list, float target, uint32_t lo, uint32_t hi);
    // |value - target| of the next entry, +infinity when none is left.
    float priority() const { return std::min(dl_, dr_); }
    bool done() const { return dl_ == kInf && dr_ == kInf; }
    // The next entry; only when !done().
    const ProjEntry& peek() const { return dr_ <= dl_ ? *r_ : l_[-1]; }
    void Advance() {
      if (dr_ <= dl_) {
        ++r_;
        SkipRight();
      } else {
        --l_;
        SkipLeft();
      }
    }

   private:
    static constexpr float kInf = std::numeric_limits<float>::infinity();
    bool Eligible(const ProjEntry* e) const { return e->id - lo_ <= span_; }
    // Moves r_ forward (across blocks) to the next eligible entry; sets dr_.
    void SkipRight() {
      for (;;) {
        while (r_ != r_end_ && !Eligible(r_)) ++r_;
        if (r_ != r_end_) {
          dr_ = r_->value - target_;
          return;
        }
        if (!NextBlock()) {
          dr_ = kInf;
          return;
        }
      }
    }
    // Moves l_ backward (across blocks) to the next eligible entry; sets dl_.
    void SkipLeft() {
      for (;;) {
          while (l_ != l_begin_ && !Eligible(l_ - 1)) --l_;
        if (l_ != l_begin_) {
          dl_ = target_ - l_[-1].value;
          return;
        }
        if (!PrevBlock()) {
          dl_ = kInf;
          return;
        }
      }
    }
    bool NextBlock();  // r_ to the start of the next block; false at the end
    bool PrevBlock();  // l_ to the end of the previous block; false at the start

    const std::vector<std::vector<ProjEntry>>* blocks_ = nullptr;
    float target_ = 0.0f;
    uint32_t lo_ = 0, span_ = 0;  // eligible: id - lo_ <= span_ (unsigned)
    size_t r_block_ = 0, l_block_ = 0;
    const ProjEntry* r_ = nullptr;        // next candidate on the right
    const ProjEntry* r_end_ = nullptr;    // end of r_'s block
    const ProjEntry* l_ = nullptr;        // one past the next candidate on the left (l_[-1])
    const ProjEntry* l_begin_ = nullptr;  // first entry of l_'s block
    float dl_ = kInf, dr_ = kInf;
  };

 private:
  std::vector<std::vector<ProjEntry>> blocks_;  // each non-empty and sorted; blocks in order
  size_t size_ = 0;
};

}  // namespace floe::ice
