#include "attention/knn/dci/sorted_projections.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <memory>

namespace floe::ice {

size_t SortedProjections::BlockOf(const ProjEntry& e) const {
  const size_t b =
      size_t(std::lower_bound(fences_.begin(), fences_.end(), e, ProjLess) - fences_.begin());
  return std::min(b, fences_.size() - 1);
}

size_t SortedProjections::BlockOfValue(float value) const {
  return size_t(std::lower_bound(fences_.begin(), fences_.end(), value,
                                 [](const ProjEntry& f, float t) { return f.value < t; }) -
                fences_.begin());
}

SortedProjections::SortedProjections()
    : own_pool_(std::make_unique<BlockPool>(kSlotEntries * sizeof(ProjEntry))),
      pool_(own_pool_.get()) {}

SortedProjections::Block SortedProjections::NewBlock() {
  return Block{static_cast<ProjEntry*>(pool_->Allocate()), 0};
}

void SortedProjections::FreeBlocks() {
  for (const Block& b : blocks_) pool_->Free(b.e);
  blocks_.clear();
  fences_.clear();
  size_ = 0;
}

void SortedProjections::Clear() { FreeBlocks(); }

void SortedProjections::Insert(ProjEntry e) {
  if (blocks_.empty()) {
    blocks_.push_back(NewBlock());
    blocks_.back().e[0] = e;
    blocks_.back().n = 1;
    fences_.push_back(e);
    size_ = 1;
    return;
  }
  const size_t at = BlockOf(e);
  Block& b = blocks_[at];
  ProjEntry* const pos = std::upper_bound(b.begin(), b.end(), e, ProjLess);
  std::copy_backward(pos, b.end(), b.end() + 1);  // a slot has room for kMaxBlock + 1
  *pos = e;
  ++b.n;
  ++size_;
  fences_[at] = b.back();
  if (b.size() <= kMaxBlock) return;
  // Split in halves: both stay sorted and in order.
  Block upper = NewBlock();
  Block& lower = blocks_[at];
  const uint32_t keep = lower.n / 2;
  std::copy(lower.e + keep, lower.end(), upper.e);
  upper.n = lower.n - keep;
  lower.n = keep;
  fences_[at] = lower.back();
  fences_.insert(fences_.begin() + ptrdiff_t(at) + 1, upper.back());
  blocks_.insert(blocks_.begin() + ptrdiff_t(at) + 1, upper);
}

namespace {

// An unsigned key with the order of the float values (-0 and +0 equal, as `<` has them): flip
// every bit of negatives, set the sign bit of the rest.
inline uint32_t OrderedKey(float v) {
  if (v == 0.0f) v = 0.0f;  // -0 -> +0
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// Sorts by (value, id). Entries whose ids already increase (a rebuild lists the keys in id
// order) take a stable LSD radix sort on the value alone, 3 passes of 11 bits: equal values
// keep their id order, so the result is the (value, id) order. A restore re-sorts every list
// of every (layer, KV head): bench_dci's index build of 16 x 32k keys went 0.8-1.0 -> 0.3-0.5 s
// with it. Other inputs (tests) take std::sort.
void SortEntries(std::vector<ProjEntry>* v) {
  const size_t n = v->size();
  bool ids_increase = true;
  for (size_t i = 1; i < n && ids_increase; ++i) ids_increase = (*v)[i - 1].id < (*v)[i].id;
  if (!ids_increase || n < 256) {
    std::sort(v->begin(), v->end(),
              [](const ProjEntry& a, const ProjEntry& b) { return ProjLess(a, b); });
    return;
  }
  constexpr int kBits = 11, kPasses = 3;
  constexpr size_t kBuckets = size_t{1} << kBits;
  std::vector<uint32_t> counts(kPasses * kBuckets, 0);
  std::vector<uint32_t> keys(n);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t k = OrderedKey((*v)[i].value);
    keys[i] = k;
    for (int p = 0; p < kPasses; ++p)
      ++counts[p * kBuckets + ((k >> (p * kBits)) & (kBuckets - 1))];
  }
  std::vector<ProjEntry> tmp(n);
  std::vector<uint32_t> tmp_keys(n);
  ProjEntry* src = v->data();
  ProjEntry* dst = tmp.data();
  uint32_t* ksrc = keys.data();
  uint32_t* kdst = tmp_keys.data();
  for (int p = 0; p < kPasses; ++p) {
    uint32_t* c = counts.data() + p * kBuckets;
    uint32_t sum = 0;
    for (size_t b = 0; b < kBuckets; ++b) sum += std::exchange(c[b], sum);  // bucket starts
    for (size_t i = 0; i < n; ++i) {
      const uint32_t at = c[(ksrc[i] >> (p * kBits)) & (kBuckets - 1)]++;
      dst[at] = src[i];
      kdst[at] = ksrc[i];
    }
    std::swap(src, dst);
    std::swap(ksrc, kdst);
  }
  if (src != v->data()) std::copy(src, src + n, v->data());  // (an odd number of passes)
}

}  // namespace

void SortedProjections::Assign(std::vector<ProjEntry> entries) {
  SortEntries(&entries);
  FreeBlocks();
  size_ = entries.size();
  // Blocks 7/8 full: room for the inserts that follow a rebuild (a block splits after 64 of
  // them), without leaving half of every slot empty in a restored index.
  const size_t per = kSlotEntries - kSlotEntries / 8;
  blocks_.reserve((entries.size() + per - 1) / per);
  for (size_t i = 0; i < entries.size(); i += per) {
    Block b = NewBlock();
    b.n = uint32_t(std::min(entries.size(), i + per) - i);
    std::copy(entries.begin() + ptrdiff_t(i), entries.begin() + ptrdiff_t(i + b.n), b.e);
    blocks_.push_back(b);
    fences_.push_back(b.back());
  }
}

void SortedProjections::CopyFrom(const SortedProjections& other) {
  if (this == &other) return;
  FreeBlocks();
  blocks_.reserve(other.blocks_.size());
  for (const Block& ob : other.blocks_) {
    Block b = NewBlock();
    b.n = ob.n;
    std::copy(ob.begin(), ob.end(), b.e);
    blocks_.push_back(b);
  }
  fences_ = other.fences_;
  size_ = other.size_;
}

std::vector<ProjEntry> SortedProjections::Flatten() const {
  std::vector<ProjEntry> all;
  all.reserve(size_);
  for (const Block& b : blocks_) all.insert(all.end(), b.begin(), b.end());
  return all;
}

size_t SortedProjections::bytes() const {
  size_t n = blocks_.capacity() * sizeof(Block) + fences_.capacity() * sizeof(ProjEntry);
  if (own_pool_ != nullptr) n += own_pool_->bytes();
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
    const Block& b = blocks[at];
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

using Block = SortedProjections::Block;

// The `count`-th eligible entry (1-based) right of (block, off) inclusive, or the last
// eligible one found; nullptr when none. Runs of a block go through the scan kernel with an
// unbounded tau (it only counts eligible ids here; the ids land in a stack buffer).
constexpr size_t kCountChunk = 256;

const ProjEntry* NthRight(const std::vector<Block>& blocks, size_t b, size_t o, size_t count,
                          uint32_t lo, uint32_t span) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  uint32_t buf[kCountChunk + kCollectSlack];
  const ProjEntry* last = nullptr;
  for (; b < blocks.size() && count > 0; ++b, o = 0) {
    const Block& blk = blocks[b];
    while (o < blk.size() && count > 0) {
      const size_t want = std::min(count, kCountChunk);
      const RunCollected r =
          CollectRunForward(blk.data() + o, blk.size() - o, 0.0f, kInf, lo, span, want, buf);
      o += r.consumed;
      if (r.written == want) {
        last = blk.data() + o - 1;  // the scan stops right after the want-th eligible entry
      } else {                      // the block ran out: its last eligible entry, if any
        for (size_t i = o; i-- > o - r.consumed;)
          if (blk.data()[i].id - lo <= span) {
            last = blk.data() + i;
            break;
          }
      }
      count -= r.written;
    }
  }
  return last;
}

// The same leftwards from one before (block, off).
const ProjEntry* NthLeft(const std::vector<Block>& blocks, size_t b, size_t o, size_t count,
                         uint32_t lo, uint32_t span) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  uint32_t buf[kCountChunk + kCollectSlack];
  const ProjEntry* last = nullptr;
  for (;;) {
    const Block& blk = blocks[b];
    while (o > 0 && count > 0) {
      const size_t want = std::min(count, kCountChunk);
      const RunCollected r = CollectRunBackward(blk.data() + o, o, 0.0f, kInf, lo, span, want, buf);
      o -= r.consumed;
      if (r.written == want) {
        last = blk.data() + o;
      } else {
        for (size_t i = o; i < o + r.consumed; ++i)
          if (blk.data()[i].id - lo <= span) {
            last = blk.data() + i;
            break;
          }
      }
      count -= r.written;
    }
    if (b == 0 || count == 0) return last;
    --b;
    o = blocks[b].size();
  }
}

}  // namespace

size_t SortedProjections::Window::Collect(float tau, size_t max, uint32_t* ids) {
  // Each side: the run inside tau within one block is scanned by a kernel (whole vectors of
  // records, ineligible ids dropped, the next lines prefetched); the next block's first line
  // is prefetched before its turn.
  size_t n = 0;
  while (!right_done_ && n < max) {
    const Block& b = (*blocks_)[r_block_];
    if (r_block_ + 1 < blocks_->size()) __builtin_prefetch((*blocks_)[r_block_ + 1].data());
    const RunCollected run = CollectRunForward(b.data() + r_off_, b.size() - r_off_, target_, tau,
                                               lo_, span_, max - n, ids + n);
    n += run.written;
    r_off_ += run.consumed;
    if (r_off_ != b.size()) break;  // the bound (or max) is reached inside the block
    if (r_block_ + 1 == blocks_->size()) {
      right_done_ = true;
      break;
    }
    ++r_block_;
    r_off_ = 0;
  }
  // (A right side stopped by `max` leaves n == max: the left side then waits its turn.)
  while (!left_done_ && n < max) {
    const Block& b = (*blocks_)[l_block_];
    if (l_block_ > 0) __builtin_prefetch(&(*blocks_)[l_block_ - 1].back());
    const RunCollected run =
        CollectRunBackward(b.data() + l_off_, l_off_, target_, tau, lo_, span_, max - n, ids + n);
    n += run.written;
    l_off_ -= run.consumed;
    if (l_off_ != 0) break;
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
  float d = kInf;
  if (!right_done_)
    if (const ProjEntry* e = NthRight(*blocks_, r_block_, r_off_, 1, lo_, span_))
      d = std::min(d, e->value - target_);
  if (!left_done_)
    if (const ProjEntry* e = NthLeft(*blocks_, l_block_, l_off_, 1, lo_, span_))
      d = std::min(d, target_ - e->value);
  return d;
}

float SortedProjections::Window::SpanOf(size_t h) const {
  if (blocks_ == nullptr || blocks_->empty() || h == 0 || done()) return 0.0f;
  float d = 0.0f;
  if (const ProjEntry* e = NthRight(*blocks_, start_block_, start_off_, h, lo_, span_))
    d = std::max(d, e->value - target_);
  if (const ProjEntry* e = NthLeft(*blocks_, start_block_, start_off_, h, lo_, span_))
    d = std::max(d, target_ - e->value);
  return d;
}

}  // namespace floe::ice
