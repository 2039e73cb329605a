#include "attention/knn/dci/block_pool.h"

#include <algorithm>
#include <new>

#include "platform/base/aligned_buffer.h"

namespace floe::ice {

BlockPool::BlockPool(size_t slot_bytes)
    : slot_bytes_((std::max<size_t>(slot_bytes, 64) + 63) / 64 * 64) {}

BlockPool::~BlockPool() {
  for (void* c : chunks_) AlignedFree(c);
}

void* BlockPool::Allocate() {
  if (!free_.empty()) {
    void* p = free_.back();
    free_.pop_back();
    return p;
  }
  if (next_left_ == 0) {
    const size_t max_slots = std::max<size_t>(1, kChunkMax / slot_bytes_);
    const size_t slots = std::min(next_chunk_slots_, max_slots);
    // A full-size chunk is one whole huge page (its tail may stay unused): the hint covers only
    // whole 2 MiB pages.
    const bool huge = slots == max_slots;
    const size_t bytes = huge ? std::max(kChunkMax, slots * slot_bytes_) : slots * slot_bytes_;
    void* chunk = huge ? AlignedAllocHugePages(bytes) : AlignedAlloc(bytes);
    if (chunk == nullptr) throw std::bad_alloc();
    chunks_.push_back(chunk);
    bytes_ += bytes;
    next_ = static_cast<char*>(chunk);
    next_left_ = slots;
    next_chunk_slots_ = std::min(slots * 2, max_slots);
  }
  void* p = next_;
  next_ += slot_bytes_;
  --next_left_;
  return p;
}

}  // namespace floe::ice
