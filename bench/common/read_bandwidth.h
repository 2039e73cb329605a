// The machine's streaming read bandwidth, measured with the benchmark's own threads: the bound
// a memory-bound kernel (matrix-vector product, attention over a long KV cache) can reach.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "bench/common/bench_util.h"
#include "platform/base/aligned_buffer.h"
#include "platform/base/thread_context.h"
#include "platform/kernels/tile_prefetch.h"

namespace floe::bench {

// Streaming read of `bytes` (sum of 64-bit words), split over the context's threads: GB/s. With
// `prefetch`, each line also prefetches the one kStreamAhead bytes on, as the decode kernels do
// (platform/kernels/tile_prefetch.h): on some machines the hardware prefetchers alone do not
// reach the memory's bandwidth (measure both: the baseline of a kernel is the faster).
inline double ReadBandwidth(const uint8_t* p, size_t bytes, ThreadContext* tc,
                            volatile uint64_t* sink, bool prefetch = false) {
  const size_t words = bytes / 8, chunk = 1 << 16;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<uint64_t> partial((words + chunk - 1) / chunk);
  tc->ParallelFor(partial.size(), 1, [&](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1; ++b) {
      const uint64_t* w = reinterpret_cast<const uint64_t*>(p) + b * chunk;
      const size_t n = std::min(chunk, words - b * chunk);
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      size_t i = 0;
      for (; i + 4 <= n; i += 4) {
        if (prefetch && i % 8 == 0) __builtin_prefetch(w + i + kStreamAhead / 8, 0, 3);
        s0 += w[i];
        s1 += w[i + 1];
        s2 += w[i + 2];
        s3 += w[i + 3];
      }
      for (; i < n; ++i) s0 += w[i];
      partial[b] = s0 + s1 + s2 + s3;
    }
  });
  uint64_t s = 0;
  for (uint64_t v : partial) s += v;
  *sink = s;
  return double(bytes) / Seconds(t0) / 1e9;
}

// Allocates and touches `bytes` at *pool, then measures `repeats` streaming reads of it, plain
// and prefetching, alternately (the same-run baseline of a benchmark). *read gets the faster
// variant's statistics (by median), *prefetch whether that is the prefetching one, and *other,
// if given, the slower's. False, with a message on stderr, if it cannot allocate.
inline bool MeasureReadBandwidth(size_t bytes, int repeats, ThreadContext* tc,
                                 AlignedBuffer<uint8_t>* pool, Stats* read,
                                 bool* prefetch = nullptr, Stats* other = nullptr) {
  if (!pool->Resize(bytes).ok()) {
    std::fprintf(stderr, "cannot allocate %zu bytes\n", bytes);
    return false;
  }
  std::memset(pool->data(), 1, bytes);
  static volatile uint64_t sink = 0;
  std::vector<double> plain, ahead;
  for (int r = 0; r < repeats; ++r) {
    plain.push_back(ReadBandwidth(pool->data(), bytes, tc, &sink, false));
    ahead.push_back(ReadBandwidth(pool->data(), bytes, tc, &sink, true));
  }
  const Stats p = Summarize(plain), a = Summarize(ahead);
  const bool use_ahead = a.median > p.median;
  *read = use_ahead ? a : p;
  if (prefetch) *prefetch = use_ahead;
  if (other) *other = use_ahead ? p : a;
  return true;
}

}  // namespace floe::bench
