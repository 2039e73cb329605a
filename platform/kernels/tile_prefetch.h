// Software prefetch for the matrix-vector kernels: NextTilePrefetch (float row tiles, here) and
// PanelStreamPrefetch (row panels, below).
// NextTilePrefetch: linear prefetch of the next tile of a float matrix-vector kernel. A decode
// tile of 8 weight rows reads 8 interleaved row streams, each too short on small matrices (768
// or 2048 columns) for the hardware prefetchers to ramp up; the next tile of the same thread is
// contiguous with this one, so walking it in address order while this tile computes is one long
// stream that needs no prediction. Lines go to L2 (a whole next tile may exceed L1). The last
// tile's prefetches reach past the matrix: harmless, a prefetch never faults.
#pragma once

#include <cstddef>
#include <cstdint>

namespace floe {

// A row-panel tile (quant_panels*-inl.h) reads each of its P panels as one forward stream. The
// hardware prefetchers alone keep too few of its lines in flight to overlap the tile's
// arithmetic with memory, so for every line a panel tile loads, it also prefetches the line
// kPanelStreamAhead bytes further along the same panel: about one K-quant block column (2304 /
// 3360 bytes) or several Q4_0 / Q8_0 ones ahead, close enough to still be in L1 when it is used.
// Past the panel's end, the stream goes on in the panel that takes its place in the thread's
// next tile (P panels on), not in the next panel, which this tile reads already. The last tile's
// prefetches fall past its rows or past the matrix: harmless, a prefetch never faults.
inline constexpr size_t kPanelStreamAhead = 3072;
class PanelStreamPrefetch {
 public:
  PanelStreamPrefetch(size_t panel_bytes, int panels)
      : panel_bytes_(panel_bytes), next_tile_(size_t(panels - 1) * panel_bytes) {}
  // Prefetches for `line`, which lies `offset` bytes into its panel.
  void Ahead(const uint8_t* line, size_t offset) const {
    const size_t skip = offset + kPanelStreamAhead >= panel_bytes_ ? next_tile_ : 0;
    __builtin_prefetch(line + kPanelStreamAhead + skip, 0, 3);
  }

 private:
  size_t panel_bytes_, next_tile_;
};

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
