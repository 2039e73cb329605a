// One simple index of Prioritized DCI (Li & Malik 2017, section 3): the keys of one index sorted
// by their projection onto one random direction, kept sorted under streaming inserts.
//
// Storage is a list of sorted blocks (at most kMaxBlock entries each, split in halves when
// full), so an insert moves at most one block's entries plus one pointer per block, instead of
// the whole array: O(kMaxBlock + n / kMaxBlock) per insert. Entries are ordered by
// (value, id); ids are unique, so the order, and therefore every traversal, depends only on
// the set of entries, never on the order they were inserted in or on the block layout.
#pragma once

#include <cstddef>
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
  // not change while a Walker is in use.
  class Walker {
   public:
    Walker() = default;
    Walker(const SortedProjections& list, float target, uint32_t lo, uint32_t hi);
    // |value - target| of the next entry, +infinity when none is left.
    float priority() const { return priority_; }
    bool done() const { return priority_ == std::numeric_limits<float>::infinity(); }
    // The next entry; only when !done().
    const ProjEntry& peek() const { return *next_; }
    void Advance();

   private:
    struct Cursor {
      int64_t block = -1;  // -1 or >= number of blocks: off the end
      size_t off = 0;
    };
    bool Valid(const Cursor& c) const;
    const ProjEntry& At(const Cursor& c) const;
    void StepLeft(Cursor* c) const;
    void StepRight(Cursor* c) const;
    void SkipLeft();   // moves left_ to the nearest eligible entry at or left of it
    void SkipRight();
    void Choose();     // sets next_ / priority_ from the two sides

    const SortedProjections* list_ = nullptr;
    float target_ = 0.0f;
    uint32_t lo_ = 0, hi_ = 0;
    Cursor left_, right_;
    bool next_is_right_ = false;
    const ProjEntry* next_ = nullptr;
    float priority_ = std::numeric_limits<float>::infinity();
  };

 private:
  std::vector<std::vector<ProjEntry>> blocks_;  // each non-empty and sorted; blocks in order
  size_t size_ = 0;
};

}  // namespace floe::ice
