#include "attention/ice/ice_attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <optional>

#include <tbb/enumerable_thread_specific.h>

#include "attention/dense_attention.h"
#include "platform/kernels/ops.h"

namespace floe {

namespace ice {

namespace {

float KeyDot(const KvCache& c, size_t layer, size_t pos, size_t kv_head, const float* q) {
  const void* k = c.Key(layer, pos, kv_head);
  return c.dtype() == DType::kF16 ? DotF16(q, static_cast<const uint16_t*>(k), c.head_dim())
                                  : Dot(q, static_cast<const float*>(k), c.head_dim());
}

// Per-thread working memory of IceAttention.
struct Scratch {
  KnnScratch knn;
  std::vector<uint32_t> candidates, topk, positions;
  std::vector<std::pair<float, uint32_t>> scored;
  std::vector<float> scores;
};

}  // namespace

namespace {

constexpr size_t kMinRun = 8;  // consecutive positions handed to the tile kernels as one tile

// Length of the run of consecutive positions starting at positions[i].
size_t RunLength(std::span<const uint32_t> positions, size_t i) {
  size_t n = 1;
  while (i + n < positions.size() && positions[i + n] == positions[i] + n) ++n;
  return n;
}

}  // namespace

void SparseAttendOne(const KvCache& c, size_t layer, size_t kv_head, const float* q,
                     std::span<const uint32_t> positions, std::vector<float>* scores, float* out) {
  const size_t hd = c.head_dim();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const size_t stride = c.pos_stride_bytes() / DTypeSize(c.dtype());
  scores->resize(positions.size());
  float* sc = scores->data();
  // Runs of consecutive positions (the recent window) go through the tile kernels; scattered
  // positions (sinks, retrieved keys) one row at a time.
  for (size_t i = 0; i < positions.size();) {
    const size_t run = RunLength(positions, i);
    if (run >= kMinRun) {
      AttentionScores(q, 1, hd, c.Key(layer, positions[i], kv_head), stride, c.dtype(), run, scale, sc + i);
    } else {
      for (size_t j = i; j < i + run; ++j) sc[j] = KeyDot(c, layer, positions[j], kv_head, q) * scale;
    }
    i += run;
  }
  float mx = -std::numeric_limits<float>::infinity();
  const float sum = positions.empty() ? 0.0f : SoftmaxTile(sc, positions.size(), positions.size(), &mx);
  std::fill(out, out + hd, 0.0f);
  const bool f16 = c.dtype() == DType::kF16;
  for (size_t i = 0; i < positions.size();) {
    const size_t run = RunLength(positions, i);
    if (run >= kMinRun) {
      AttentionAccumulate(sc + i, 1, hd, c.Value(layer, positions[i], kv_head), stride, c.dtype(), run, out);
    } else {
      for (size_t j = i; j < i + run; ++j) {
        const void* v = c.Value(layer, positions[j], kv_head);
        if (f16) AxpyF16(sc[j], static_cast<const uint16_t*>(v), out, hd);
        else Axpy(sc[j], static_cast<const float*>(v), out, hd);
      }
    }
    i += run;
  }
  if (sum > 0.0f) Scale(out, 1.0f / sum, hd);
}

void AttendedPositions(size_t sinks, std::span<const uint32_t> retrieved, size_t window_begin,
                       size_t n_keys, std::vector<uint32_t>* out) {
  out->clear();
  for (size_t p = 0; p < sinks; ++p) out->push_back(uint32_t(p));
  out->insert(out->end(), retrieved.begin(), retrieved.end());
  // Memory order for the value reads; the set is unchanged.
  std::sort(out->begin() + ptrdiff_t(sinks), out->end());
  for (size_t p = window_begin; p < n_keys; ++p) out->push_back(uint32_t(p));
}

void TopKByInnerProduct(const KvCache& c, size_t layer, size_t kv_head, const float* q,
                        std::span<const uint32_t> candidates, size_t k, std::vector<float>* scores,
                        std::vector<std::pair<float, uint32_t>>* scored, std::vector<uint32_t>* out) {
  const size_t n = candidates.size();
  scores->resize(n);
  AttentionScoresGather(q, c.head_dim(), c.Key(layer, 0, kv_head), c.pos_stride_bytes() / DTypeSize(c.dtype()),
                        c.dtype(), candidates.data(), n, 1.0f, scores->data());
  k = std::min(k, n);
  auto better = [](const std::pair<float, uint32_t>& a, const std::pair<float, uint32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  // The k best so far in a heap with the worst on top: once it is full, a candidate costs one
  // comparison with the k-th best (most are rejected there). Ids are distinct, so `better` is
  // a strict total order and the k chosen do not depend on the candidates' order.
  scored->clear();
  for (size_t i = 0; i < n; ++i) {
    float s = (*scores)[i];
    if (std::isnan(s)) s = -std::numeric_limits<float>::infinity();
    const std::pair<float, uint32_t> e{s, candidates[i]};
    if (scored->size() < k) {
      scored->push_back(e);
      if (scored->size() == k) std::make_heap(scored->begin(), scored->end(), better);
    } else if (k > 0 && better(e, scored->front())) {
      std::pop_heap(scored->begin(), scored->end(), better);
      scored->back() = e;
      std::push_heap(scored->begin(), scored->end(), better);
    }
  }
  std::sort(scored->begin(), scored->end(), better);
  out->resize(k);
  for (size_t i = 0; i < k; ++i) (*out)[i] = (*scored)[i].second;
}

}  // namespace ice

namespace {

Status IceAttendOne(const IceAttentionArgs& a, size_t head, size_t kv_head, size_t pos,
                    const float* q, float* out, ice::Scratch* s) {
  const AttentionSettings& st = *a.settings;
  const size_t n_keys = pos + 1;
  const size_t sinks = std::min(st.sinks, n_keys);
  const size_t window_begin = std::max(sinks, n_keys - std::min(st.window, n_keys));
  // Eligible for retrieval: [sinks, window_begin).
  const bool sparse = n_keys >= st.dense_below && window_begin - sinks > st.k;
  if (!sparse) {
    DenseAttendOne(*a.cache, a.layer, kv_head, q, n_keys, out);
  } else {
    s->candidates.clear();
    FLOE_RETURN_IF_ERROR(a.index->at(a.layer, kv_head).Search(
        q, uint32_t(sinks), uint32_t(window_begin - 1), st.k, &s->knn, &s->candidates));
    ice::TopKByInnerProduct(*a.cache, a.layer, kv_head, q, s->candidates, st.k, &s->scores, &s->scored, &s->topk);
    ice::AttendedPositions(sinks, s->topk, window_begin, n_keys, &s->positions);
    ice::SparseAttendOne(*a.cache, a.layer, kv_head, q, s->positions, &s->scores, out);
  }
  if (a.probe && a.probe->Wants(a.layer, head, pos)) {
    AttentionProbeEvent e;
    e.layer = a.layer;
    e.head = head;
    e.kv_head = kv_head;
    e.position = pos;
    e.q = q;
    e.cache = a.cache;
    e.sparse = sparse;
    if (sparse) {
      e.retrieved = s->topk;
      e.candidates = s->candidates.size();
    }
    e.eligible_begin = sinks;
    e.eligible_end = window_begin;
    e.out = out;
    a.probe->Record(e);
  }
  return Status::Ok();
}

}  // namespace

struct IceScratchPool::Impl {
  tbb::enumerable_thread_specific<ice::Scratch> per_thread;
};

IceScratchPool::IceScratchPool() : impl_(std::make_unique<Impl>()) {}
IceScratchPool::~IceScratchPool() = default;
IceScratchPool::IceScratchPool(const IceScratchPool&) : impl_(std::make_unique<Impl>()) {}
IceScratchPool& IceScratchPool::operator=(const IceScratchPool&) { return *this; }

Status IceAttention(const IceAttentionArgs& a, ThreadContext* threads) {
  const size_t hd = a.cache->head_dim();
  const size_t group = a.n_heads / a.cache->n_kv_heads();
  const size_t row = a.n_heads * hd;
  // One scratch per worker thread (the DCI stamp maps are sized to the context and never
  // cleared or reallocated per query).
  std::optional<IceScratchPool> temporary;
  IceScratchPool& pool = a.scratch ? *a.scratch : temporary.emplace();
  // The first search error (a FAISS failure) is returned; the other queries still run.
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  Status error;
  auto work = [&](size_t begin, size_t end) {
    ice::Scratch& scratch = pool.impl().per_thread.local();
    for (size_t i = begin; i < end; ++i) {
      const size_t t = i / a.n_heads, h = i % a.n_heads;
      Status st = IceAttendOne(a, h, h / group, a.first_pos + t, a.q + t * row + h * hd,
                               a.out + t * row + h * hd, &scratch);
      if (!st.ok() && !failed.exchange(true)) {
        std::lock_guard<std::mutex> lock(error_mu);
        error = std::move(st);
      }
    }
  };
  const size_t n = a.n_tokens * a.n_heads;
  if (threads) threads->ParallelFor(n, 1, work);
  else work(0, n);
  std::lock_guard<std::mutex> lock(error_mu);
  return error;
}

}  // namespace floe
