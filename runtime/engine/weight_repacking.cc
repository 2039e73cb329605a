#include "runtime/engine/weight_repacking.h"

#include <chrono>
#include <cstring>
#include <utility>
#include <vector>

#include "platform/base/aligned_buffer.h"
#include "platform/base/thread_context.h"
#include "platform/quant/row_panels.h"

namespace floe {

namespace {

size_t Padded(size_t bytes) { return (bytes + 63) / 64 * 64; }  // each copy 64-byte aligned

}  // namespace

Result<RepackedWeights> RepackWeights(CausalLm& lm, const MappedFile& file, int threads) {
  const auto t0 = std::chrono::steady_clock::now();
  RepackedWeights out;
  if (!file.is_mapped()) return out;
  // Each distinct matrix once: two views of one matrix share its copy.
  struct Source {
    TensorView original;
    uint8_t* copy = nullptr;
  };
  std::vector<Source> sources;
  std::vector<std::pair<TensorView*, size_t>> todo;  // view, its source
  size_t total = 0;
  const CausalLm::MovableWeights movable = lm.Movable();
  for (TensorView* v : movable.products) {
    if (v == nullptr || !CanRepackRowPanels(v->dtype, v->rows, v->cols)) continue;
    size_t i = 0;
    while (i < sources.size() && sources[i].original.data != v->data) ++i;
    if (i == sources.size()) {
      sources.push_back({*v});
      total += Padded(v->bytes());
    } else if (const TensorView& s = sources[i].original;
               s.dtype != v->dtype || s.rows != v->rows || s.cols != v->cols) {
      continue;  // another shape over the same bytes: left in place
    }
    todo.emplace_back(v, i);
  }
  if (todo.empty()) return out;
  for (const TensorView* v : movable.others)
    if (v != nullptr && v->data != nullptr) total += Padded(v->bytes());
  out.data_.reset(static_cast<uint8_t*>(AlignedAllocHugePages(total)));
  if (out.data_ == nullptr)
    return OutOfMemory("cannot allocate " + std::to_string(total) +
                       " bytes for the repacked weights");
  ThreadContext tc(threads);
  uint8_t* next = out.data_.get();
  for (Source& s : sources) {
    const TensorView src = s.original;
    uint8_t* dst = s.copy = next;
    tc.ParallelFor(src.rows / kPanelRows, 1,
                   [&](size_t p0, size_t p1) { RepackRowPanels(src, p0, p1, dst); });
    out.released_ += file.ReleasePages(src.data, src.bytes());
    next += Padded(src.bytes());
    out.bytes_ += src.bytes();
    ++out.matrices_;
  }
  for (auto [v, i] : todo) {
    v->dtype = RowPanelsTypeOf(v->dtype);
    v->data = sources[i].copy;
  }
  for (TensorView* v : movable.others) {
    if (v == nullptr || v->data == nullptr) continue;
    std::memcpy(next, v->data, v->bytes());
    out.released_ += file.ReleasePages(v->data, v->bytes());
    v->data = next;
    next += Padded(v->bytes());
    out.copied_ += v->bytes();
  }
  out.seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace floe
