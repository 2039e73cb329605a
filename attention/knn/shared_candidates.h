// The kNN candidates that each (layer, KV head) of a sequence shares across its current block of
// AttentionSettings::search_block positions (IceAttention): made by the search at the block's
// first kNN position (for the GQA group's query heads together), used by every later query of
// the block and group, whether that query comes in the same prefill chunk, a later chunk or a
// decode step. Part of the sequence's state (saved, restored, forked),
// so a block's queries rank the same candidates however the sequence was cut into chunks,
// steps and restores.
//
// Only the block of the latest position is kept. IceAttention reads the carried entry of the
// block a call starts in (TakeCarried, before its parallel section) and writes the entry of the
// block it ends in, so no entry is read and written concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "platform/base/state_io.h"
#include "platform/base/status.h"

namespace floe::ice {

class SharedCandidates {
 public:
  static constexpr uint64_t kNoBlock = ~uint64_t{0};
  struct Entry {
    uint64_t block = kNoBlock;  // block index (position / block size); kNoBlock: empty
    uint32_t first = 0;         // position of the query that searched (drops: see DropFrom)
    std::vector<uint32_t> ids;  // its candidates
    std::vector<uint8_t> keys;  // their key rows side by side (cache dtype), once a decode step
                                // copied them; empty otherwise (not saved: rebuilt on demand)
  };

  void Init(size_t n_layers, size_t n_kv_heads, size_t block_size);
  void Clear();
  size_t bytes() const;

  // The entry written for `layer`/`kv_head` (the block a call ends in).
  Entry& at(size_t layer, size_t kv_head) { return entries_[layer * n_heads_ + kv_head]; }
  // Moves the entries of `layer` whose block is `block` aside (the calls' first block reads
  // them through carried()); the others are left empty there.
  void TakeCarried(size_t layer, uint64_t block);
  Entry& carried(size_t layer, size_t kv_head) { return carried_[layer * n_heads_ + kv_head]; }

  // Drops the entries of `layer` made by a query at a position >= `position` (an interrupted
  // chunk's, when called before that layer's next attention).
  void DropFrom(size_t layer, size_t position);

  // Appends the entries to w (for a state), and reads them back: a section made for another
  // shape (layers, KV heads, block size) is skipped (the blocks then search afresh); ids must lie
  // below `positions` (hostile input: kInvalidArgument otherwise, and nothing changes).
  void Save(StateWriter& w) const;
  Status Restore(std::span<const uint8_t> bytes, size_t positions);

 private:
  size_t n_heads_ = 0, block_size_ = 1;  // n_heads_: KV heads
  std::vector<Entry> entries_, carried_;
};

}  // namespace floe::ice
