// Explicit threading context (no global pool): owns a oneTBB task_arena with a fixed thread
// count. Every parallel loop in the library runs inside some ThreadContext's arena, so two
// models/sessions with different thread counts never interfere.
#pragma once

#include <cstddef>
#include <memory>

#include "platform/base/aligned_buffer.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

namespace floe {

// Number of physical cores (hyper-threads counted once); >= 1.
int PhysicalCoreCount();

// Named per-context scratch buffers (see ThreadContext::Scratch).
enum class ScratchSlot { kQuantizedActivations, kBatchRows, kBatchLogits, kCount };

class ThreadContext {
 public:
  // num_threads <= 0 means PhysicalCoreCount().
  explicit ThreadContext(int num_threads = 0);
  ThreadContext(const ThreadContext&) = delete;
  ThreadContext& operator=(const ThreadContext&) = delete;

  int num_threads() const { return num_threads_; }

  // Calls fn(begin, end) on disjoint sub-ranges covering [0, n), each at least `grain` long
  // (except the last), in this context's arena; returns when all are done. fn must not throw.
  // With one thread, or n <= grain, runs inline on the caller.
  template <class Fn>
  void ParallelFor(size_t n, size_t grain, Fn&& fn) {
    if (n == 0) return;
    if (grain == 0) grain = 1;
    if (num_threads_ <= 1 || n <= grain) {
      fn(size_t{0}, n);
      return;
    }
    arena_->execute([&] {
      tbb::parallel_for(
          tbb::blocked_range<size_t>(0, n, grain),
          [&](const tbb::blocked_range<size_t>& r) { fn(r.begin(), r.end()); },
          tbb::simple_partitioner());
    });
  }

  // A buffer of at least n floats (64-byte aligned) that belongs to this context and only grows,
  // so steady-state decoding allocates nothing; valid until the next call for the same slot.
  // Only the thread that drives this context (calls kernels with it) may use it. nullptr when
  // the memory cannot be had.
  float* Scratch(ScratchSlot slot, size_t n);

 private:
  int num_threads_;
  AlignedBuffer<float> scratch_[size_t(ScratchSlot::kCount)];
  std::unique_ptr<tbb::task_arena> arena_;
};

}  // namespace floe
