// Fixed-size slots for the sorted blocks of a Prioritized DCI index (sorted_projections.h),
// carved from chunks that ask for transparent huge pages.
//
// Why: an index at 32k keys holds ~2k blocks of a few KiB; from the general heap they land on
// ~2k different 4 KiB pages, and a decode step's searches and inserts touch thousands of such
// blocks across all (layer, KV head) indexes: nearly every block visit was a TLB miss and a
// page walk (glibc's own huge-page tunable made inserts and searches faster in bench_dci;
// docs/results/ice.md). A library cannot set process-wide malloc options, so
// the index allocates its blocks here. Chunks double from 16 slots up to 2 MiB (one huge page,
// 2 MiB-aligned); freed slots are reused. Not thread-safe (an index is written by one thread).
#pragma once

#include <cstddef>
#include <vector>

namespace floe::ice {

class BlockPool {
 public:
  explicit BlockPool(size_t slot_bytes);
  ~BlockPool();
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  size_t slot_bytes() const { return slot_bytes_; }
  // A free slot (slot_bytes, 64-byte aligned). Throws std::bad_alloc when memory runs out, as
  // the standard containers it replaces did.
  void* Allocate();
  // Returns a slot of this pool.
  void Free(void* slot) { free_.push_back(slot); }
  // Bytes of the chunks held (used or free).
  size_t bytes() const { return bytes_; }

 private:
  static constexpr size_t kChunkMax = size_t{2} << 20;
  size_t slot_bytes_;
  std::vector<void*> chunks_;
  std::vector<void*> free_;
  char* next_ = nullptr;  // unused part of the newest chunk
  size_t next_left_ = 0;  // slots left there
  size_t next_chunk_slots_ = 16;
  size_t bytes_ = 0;
};

}  // namespace floe::ice
