#include "attention/ice/ice_index.h"

#include <vector>

#include "platform/dtype.h"

namespace floe::ice {

uint64_t IndexSeed(uint64_t seed, size_t layer, size_t kv_head) {
  uint64_t z = seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t(layer) * 65537u + uint64_t(kv_head) + 1));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Status IceIndex::Init(size_t n_layers, size_t n_kv_heads, size_t head_dim,
                      const AttentionSettings& s) {
  n_layers_ = n_layers;
  n_kv_heads_ = n_kv_heads;
  head_dim_ = head_dim;
  sinks_ = s.sinks;
  dci_.assign(n_layers * n_kv_heads, PrioritizedDci());
  for (size_t l = 0; l < n_layers; ++l)
    for (size_t h = 0; h < n_kv_heads; ++h)
      FLOE_RETURN_IF_ERROR(dci_[l * n_kv_heads + h].Init(head_dim, s.dci.simple_indices,
                                                         s.dci.composite_indices,
                                                         IndexSeed(s.dci.seed, l, h)));
  return Status::Ok();
}

void IceIndex::Clear() {
  for (auto& d : dci_) d.Clear();
}

size_t IceIndex::bytes() const {
  size_t n = dci_.capacity() * sizeof(PrioritizedDci);
  for (const auto& d : dci_) n += d.bytes();
  return n;
}

Status IceIndex::Add(const KvCache& cache, size_t layer, size_t begin, size_t end,
                     ThreadContext* threads) {
  for (size_t h = 0; h < n_kv_heads_; ++h) dci_[layer * n_kv_heads_ + h].Truncate(uint32_t(begin));
  if (begin < sinks_) begin = sinks_;
  if (begin >= end) return Status::Ok();
  std::vector<Status> status(n_kv_heads_);
  auto work = [&](size_t h0, size_t h1) {
    std::vector<float> key(head_dim_);
    for (size_t h = h0; h < h1; ++h) {
      PrioritizedDci& dci = dci_[layer * n_kv_heads_ + h];
      for (size_t pos = begin; pos < end && status[h].ok(); ++pos) {
        const void* k = cache.Key(layer, pos, h);
        const float* kf = static_cast<const float*>(k);
        if (cache.dtype() == DType::kF16) {
          const uint16_t* kh = static_cast<const uint16_t*>(k);
          for (size_t i = 0; i < head_dim_; ++i) key[i] = F16ToF32(kh[i]);
          kf = key.data();
        }
        status[h] = dci.Insert(uint32_t(pos), kf);
      }
    }
  };
  if (threads) threads->ParallelFor(n_kv_heads_, 1, work);
  else work(0, n_kv_heads_);
  for (const Status& st : status) FLOE_RETURN_IF_ERROR(st);
  return Status::Ok();
}

Status IceIndex::Rebuild(const KvCache& cache, size_t n, ThreadContext* threads) {
  Clear();
  if (n <= sinks_) return Status::Ok();
  const size_t count = n - sinks_;
  std::vector<Status> status(n_layers_ * n_kv_heads_);
  auto work = [&](size_t i0, size_t i1) {
    std::vector<float> keys(count * head_dim_);
    std::vector<uint32_t> ids(count);
    for (size_t i = i0; i < i1; ++i) {
      const size_t layer = i / n_kv_heads_, h = i % n_kv_heads_;
      for (size_t j = 0; j < count; ++j) {
        ids[j] = uint32_t(sinks_ + j);
        const void* k = cache.Key(layer, sinks_ + j, h);
        for (size_t d = 0; d < head_dim_; ++d)
          keys[j * head_dim_ + d] = cache.dtype() == DType::kF16
                                        ? F16ToF32(static_cast<const uint16_t*>(k)[d])
                                        : static_cast<const float*>(k)[d];
      }
      status[i] = dci_[i].InsertBatch(ids.data(), keys.data(), count);
    }
  };
  if (threads) threads->ParallelFor(status.size(), 1, work);
  else work(0, status.size());
  for (const Status& st : status) FLOE_RETURN_IF_ERROR(st);
  return Status::Ok();
}

}  // namespace floe::ice
