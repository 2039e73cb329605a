#include "runtime/engine/weight_repacking.h"

#include <chrono>
#include <cstring>
#include <utility>
#include <vector>

#include "platform/base/aligned_buffer.h"
#include "platform/base/thread_context.h"
#include "platform/quant/row_panels.h"

namespace floe {

RepackedWeights::~RepackedWeights() { AlignedFree(data_); }

RepackedWeights::RepackedWeights(RepackedWeights&& o) noexcept
    : data_(std::exchange(o.data_, nullptr)),
      matrices_(std::exchange(o.matrices_, 0)),
      bytes_(std::exchange(o.bytes_, 0)),
      copied_(std::exchange(o.copied_, 0)),
      released_(std::exchange(o.released_, 0)),
      seconds_(std::exchange(o.seconds_, 0.0)) {}

RepackedWeights& RepackedWeights::operator=(RepackedWeights&& o) noexcept {
  if (this != &o) {
    AlignedFree(data_);
    data_ = std::exchange(o.data_, nullptr);
    matrices_ = std::exchange(o.matrices_, 0);
    bytes_ = std::exchange(o.bytes_, 0);
    copied_ = std::exchange(o.copied_, 0);
    released_ = std::exchange(o.released_, 0);
    seconds_ = std::exchange(o.seconds_, 0.0);
  }
  return *this;
}

Result<RepackedWeights> RepackWeights(CausalLm& lm, const MappedFile& file, int threads) {
  const auto t0 = std::chrono::steady_clock::now();
  // Each distinct matrix once (two views of one matrix share its copy).
  std::vector<TensorView*> todo;
  std::vector<TensorView> sources;
  size_t total = 0;
  const CausalLm::MovableWeights movable = lm.Movable();
  for (TensorView* v : movable.products) {
    if (v == nullptr || !CanRepackRowPanels(v->dtype, v->rows, v->cols)) continue;
    bool seen = false, same = true;
    for (const TensorView& s : sources)
      if (s.data == v->data) {
        seen = true;
        same = s.dtype == v->dtype && s.rows == v->rows && s.cols == v->cols;
      }
    if (!same) continue;  // another shape over the same bytes: left in place
    todo.push_back(v);
    if (!seen) {
      sources.push_back(*v);
      total += (v->bytes() + 63) / 64 * 64;
    }
  }
  RepackedWeights out;
  if (todo.empty()) return out;
  for (const TensorView* v : movable.others)
    if (v != nullptr && v->data != nullptr) total += (v->bytes() + 63) / 64 * 64;
  auto* base = static_cast<uint8_t*>(AlignedAllocHugePages(total));
  if (base == nullptr)
    return OutOfMemory("cannot allocate " + std::to_string(total) +
                       " bytes for the repacked weights");
  out.data_ = base;
  ThreadContext tc(threads);
  std::vector<uint8_t*> copies(sources.size(), nullptr);
  size_t offset = 0;
  for (TensorView* v : todo) {
    const TensorView src = *v;
    size_t i = 0;
    while (sources[i].data != src.data) ++i;
    if (copies[i] == nullptr) {
      uint8_t* dst = copies[i] = base + offset;
      tc.ParallelFor(src.rows / kPanelRows, 1,
                     [&](size_t p0, size_t p1) { RepackRowPanels(src, p0, p1, dst); });
      out.released_ += file.ReleasePages(src.data, src.bytes());
      offset += (src.bytes() + 63) / 64 * 64;
      out.bytes_ += src.bytes();
      ++out.matrices_;
    }
    v->dtype = RowPanelsTypeOf(src.dtype);
    v->data = copies[i];
  }
  for (TensorView* v : movable.others) {
    if (v == nullptr || v->data == nullptr) continue;
    uint8_t* dst = base + offset;
    std::memcpy(dst, v->data, v->bytes());
    out.released_ += file.ReleasePages(v->data, v->bytes());
    v->data = dst;
    offset += (v->bytes() + 63) / 64 * 64;
    out.copied_ += v->bytes();
  }
  out.seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace floe
