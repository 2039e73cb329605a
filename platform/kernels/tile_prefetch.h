// Software prefetch for the matrix-vector kernels: every decode tile (float rows, bf16 rows,
// Q4_0 / Q8_0 / K-quant rows, row panels) streams its rows or panels ahead of its loads.
#pragma once

#include <cstddef>
#include <cstdint>

namespace floe {

// A matrix-vector tile reads P equal streams that lie one after another in memory: the R rows
// of a row tile (matmul-inl.h, bf16_dot-inl.h, quant_tiles_vnni-inl.h), or the P panels of a
// row-panel tile (quant_panels*-inl.h).
// The hardware prefetchers alone keep too few of their lines in flight to overlap the tile's
// arithmetic with memory, so for every line a tile loads, it also prefetches the line
// kStreamAhead bytes further along the same stream: about one K-quant block column (2304 / 3360
// bytes), several Q4_0 / Q8_0 ones, or three quarters of an f16 row of 2048 columns ahead, close
// enough to still be in L1 when it is used; streams shorter than that (a Q8_0 row of 2048
// columns) are prefetched one stream length ahead. Past the stream's end, the prefetch goes on in
// the stream that takes its place in the thread's next tile (P streams on), not in the next
// stream, which this tile reads already. The last tile's prefetches fall past its rows or past
// the matrix: harmless, a prefetch never faults.
inline constexpr size_t kStreamAhead = 3072;
class StreamAheadPrefetch {
 public:
  StreamAheadPrefetch(size_t stream_bytes, int streams)
      : stream_bytes_(stream_bytes),
        next_tile_(size_t(streams - 1) * stream_bytes),
        ahead_(stream_bytes < kStreamAhead ? stream_bytes : kStreamAhead) {}
  // Prefetches for the kSpan bytes from `p`, which lies `offset` bytes into its stream: every
  // line they touch (a K-quant panel's fields, a row tile's blocks that are not whole lines).
  template <size_t kSpan>
  __attribute__((always_inline)) void AheadSpan(const uint8_t* p, size_t offset) const {
    for (size_t j = 0; j < kSpan; j += 64) Ahead(p + j, offset + j);
    if (kSpan % 64 != 0) Ahead(p + kSpan - 1, offset + kSpan - 1);
  }
  // Prefetches for `line`, which lies `offset` bytes into its stream. Always inlined: GCC 12
  // drops the prefetch of this (default-target) function where it inlines it on its own into a
  // kernel compiled for another target.
  __attribute__((always_inline)) void Ahead(const void* line, size_t offset) const {
    const size_t skip = offset + ahead_ >= stream_bytes_ ? next_tile_ : 0;
    __builtin_prefetch(static_cast<const char*>(line) + ahead_ + skip, 0, 3);
  }

 private:
  size_t stream_bytes_, next_tile_, ahead_;
};

}  // namespace floe
