// One simple index of Prioritized DCI (Li & Malik 2017): the keys of one index sorted
// by their projection onto one random direction, kept sorted under streaming inserts.
//
// Storage is a list of sorted blocks (at most kMaxBlock entries each, split in halves when
// full), so an insert moves at most one block's entries plus one pointer per block, instead of
// the whole array: O(kMaxBlock + n / kMaxBlock) per insert. Blocks are fixed-size slots of a
// BlockPool (block_pool.h: huge-page chunks), shared by the lists of one index or owned. The
// last entry of every block is also kept in one contiguous array (the fences), so finding a
// block is a binary search over a few cache lines, not one pointer chase into a cold block per
// step: a decode step inserts into and searches thousands of lists that are all cold (m L
// lists per (layer, KV head)). Entries are ordered by (value, id); ids are unique, so the
// order, and therefore every traversal, depends only on the set of entries, never on the order
// they were inserted in or on the block layout.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "attention/knn/dci/block_pool.h"
#include "platform/kernels/search.h"

namespace floe::ice {

// value: projection of the (transformed) key onto the index's direction; id: the key id (the
// token position). The search kernels' record (platform/kernels/search.h).
using ProjEntry = ValueId;

inline bool ProjLess(const ProjEntry& a, const ProjEntry& b) {
  return a.value < b.value || (a.value == b.value && a.id < b.id);
}

class SortedProjections {
 public:
  // A block slot holds kSlotEntries entries; a block splits once it holds more than kMaxBlock.
  static constexpr size_t kSlotEntries = 512;
  static constexpr size_t kMaxBlock = kSlotEntries - 1;

  // One sorted block: n entries at e (a pool slot).
  struct Block {
    ProjEntry* e = nullptr;
    uint32_t n = 0;
    ProjEntry* data() const { return e; }
    size_t size() const { return n; }
    ProjEntry* begin() const { return e; }
    ProjEntry* end() const { return e + n; }
    const ProjEntry& back() const { return e[n - 1]; }
  };

  // With its own pool.
  SortedProjections();
  // With the caller's pool, which must outlive every block of this list. Blocks return to the
  // pool on Clear/Assign; destroying the list leaves them to the pool, which is dropped whole
  // (an own pool with the list, a shared one by the index together with its lists).
  explicit SortedProjections(BlockPool* pool) : pool_(pool) {}
  SortedProjections(SortedProjections&&) noexcept = default;
  SortedProjections& operator=(SortedProjections&&) noexcept = default;
  SortedProjections(const SortedProjections&) = delete;
  SortedProjections& operator=(const SortedProjections&) = delete;
  ~SortedProjections() = default;

  void Clear();
  size_t size() const { return size_; }
  // Inserts one entry whose id is not present yet.
  void Insert(ProjEntry e);
  // Replaces the contents with `entries` (any order; ids unique).
  void Assign(std::vector<ProjEntry> entries);
  // Replaces the contents with a copy of `other`'s (same blocks), in this list's pool.
  void CopyFrom(const SortedProjections& other);
  // All entries in order (tests, debugging).
  std::vector<ProjEntry> Flatten() const;
  // Bytes of the block index, plus the slots when the pool is this list's own.
  size_t bytes() const;

  // A window [target - tau, target + tau] over the entries whose id lies in [lo, hi], that
  // only grows: the batched form of DCI's "next closest projection". Collect(tau, ...) hands
  // out the eligible entries that newly fall inside (the right side outward, then the left side
  // outward), each exactly once over the window's life. The scans are plain forward/backward
  // loops over the sorted blocks with one predictable exit test per entry and no call per
  // entry, which is what makes a search cheap: a per-entry choice between two sides (or
  // between lists) mispredicts about half of the time. Entries outside [lo, hi] never influence
  // anything (so a causal query gives the same answer whatever later keys the index holds). The
  // list must not change while a Window is in use.
  class Window {
   public:
    Window() = default;
    Window(const SortedProjections& list, float target, uint32_t lo, uint32_t hi);
    // Writes to ids[] the ids of the eligible entries with |value - target| <= tau not visited
    // yet, in visiting order, at most `max` of them; those count as visited. Returns how many:
    // fewer than `max` means none is left within tau (the window then covers tau); `max`
    // means the window ends right after the last one written. ids[] has room for max +
    // kCollectSlack (platform/kernels/search.h).
    size_t Collect(float tau, size_t max, uint32_t* ids);
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
    const std::vector<Block>* blocks_ = nullptr;
    float target_ = 0.0f;
    uint32_t lo_ = 0, span_ = 0;              // eligible: id - lo_ <= span_ (unsigned)
    size_t start_block_ = 0, start_off_ = 0;  // first entry with value >= target (the split)
    size_t r_block_ = 0, r_off_ = 0;          // next entry on the right
    size_t l_block_ = 0, l_off_ = 0;          // one past the next entry on the left
    bool right_done_ = true, left_done_ = true;
    size_t visited_ = 0;
  };

 private:
  // Index of the block an entry (or a value) belongs in: the first block whose last entry is
  // not less than it (the last block when it is beyond all).
  size_t BlockOf(const ProjEntry& e) const;
  size_t BlockOfValue(float value) const;
  Block NewBlock();
  void FreeBlocks();

  std::unique_ptr<BlockPool> own_pool_;
  BlockPool* pool_ = nullptr;
  std::vector<Block> blocks_;      // each non-empty and sorted; blocks in order
  std::vector<ProjEntry> fences_;  // fences_[b] = blocks_[b].back()
  size_t size_ = 0;
};

}  // namespace floe::ice
