// Linear prefetch of the next tile of a matrix-vector kernel. A decode tile of 8 weight rows
// reads 8 interleaved row streams, each too short on small matrices (768 or 2048 columns) for
// the hardware prefetchers to ramp up; the next tile of the same thread is contiguous with this
// one, so walking it in address order while this tile computes is one long stream that needs no
// prediction. Lines go to L2 (a whole next tile may exceed L1). The last tile's prefetches
// reach past the matrix: harmless, a prefetch never faults.
#pragma once

#include <cstddef>

namespace floe {

class NextTilePrefetch {
 public:
  // `bytes` starting at `next`, spread evenly over `steps` calls of Step(); bytes = 0 disables.
  NextTilePrefetch(const void* next, size_t bytes, size_t steps)
      : next_(static_cast<const char*>(next)),
        lines_((bytes + 63) / 64),
        per_step_(steps ? (lines_ + steps - 1) / steps : 0) {}

  void Step() {
    const size_t stop = line_ + per_step_ < lines_ ? line_ + per_step_ : lines_;
    for (; line_ < stop; ++line_) __builtin_prefetch(next_ + line_ * 64, 0, 2);
  }

 private:
  const char* next_;
  size_t lines_, per_step_, line_ = 0;
};

}  // namespace floe
