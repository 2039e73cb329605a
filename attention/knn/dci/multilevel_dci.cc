#include "attention/knn/dci/multilevel_dci.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "platform/base/dtype.h"
#include "platform/kernels/ops.h"
#include "platform/kernels/search.h"

namespace floe::ice {

namespace {

constexpr float kMaxSqNorm = 1.2676506e30f;  // 2^100, as PrioritizedDci: beyond it a key is 0

uint64_t Mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

Status MultiLevelDci::Init(size_t dim, size_t levels, size_t fanout, size_t simple_indices,
                           size_t composite_indices, uint64_t seed) {
  if (levels < 2 || levels > kMaxLevels)
    return InvalidArgument("multi-level DCI: levels must be in [2, " + std::to_string(kMaxLevels) +
                           "], not " + std::to_string(levels));
  if (fanout < 2) return InvalidArgument("multi-level DCI: fanout must be at least 2");
  FLOE_RETURN_IF_ERROR(top_.Init(dim, simple_indices, composite_indices, seed));
  dim_ = dim;
  fanout_ = fanout;
  composite_ = composite_indices;
  seed_ = Mix(seed ^ 0x5bd1e9955bd1e995ULL);  // level draws: independent of the directions
  levels_.assign(levels, Level{});
  return Status::Ok();
}

void MultiLevelDci::Clear() {
  for (Level& l : levels_) l = Level{};
  top_.Clear();
}

size_t MultiLevelDci::size() const {
  size_t n = 0;
  for (const Level& l : levels_) n += l.ids.size();
  return n;
}

size_t MultiLevelDci::bytes() const {
  size_t n = sizeof(*this) + top_.bytes();
  for (const Level& l : levels_) {
    n += (l.ids.capacity() + l.parent.capacity()) * sizeof(uint32_t) +
         (l.keys.capacity() + l.blocks.capacity() + l.sq.capacity()) * sizeof(float) +
         l.children.capacity() * sizeof(l.children[0]);
    for (const auto& c : l.children) n += c.capacity() * sizeof(uint32_t);
  }
  return n;
}

size_t MultiLevelDci::DrawnLevel(uint32_t id) const {
  uint64_t h = Mix(seed_ + 0x9e3779b97f4a7c15ULL * (uint64_t(id) + 1));
  size_t level = 0;
  while (level + 1 < levels_.size() && h % fanout_ == 0) {
    ++level;
    h = Mix(h + 0x9e3779b97f4a7c15ULL);
  }
  return level;
}

uint32_t MultiLevelDci::Nearest(size_t l, const float* key) const {
  const Level& lv = levels_[l];
  return uint32_t(
      NearestRow16(key, lv.blocks.data(), lv.sq.data(), dim_, lv.sq.size() / kRowBlock));
}

void MultiLevelDci::StoreKey(size_t l, const float* key, float sq) {
  Level& lv = levels_[l];
  const size_t j = lv.ids.size() - 1;  // the id is in already
  lv.keys.insert(lv.keys.end(), key, key + dim_);
  if (j % kRowBlock == 0) {  // a new block
    lv.blocks.resize(lv.blocks.size() + dim_ * kRowBlock, 0.0f);
    lv.sq.resize(lv.sq.size() + kRowBlock, std::numeric_limits<float>::infinity());
  }
  float* blk = lv.blocks.data() + (j / kRowBlock) * dim_ * kRowBlock + j % kRowBlock;
  for (size_t c = 0; c < dim_; ++c) blk[c * kRowBlock] = key[c];
  lv.sq[j] = sq;
}

void MultiLevelDci::CutKeys(size_t l, size_t keep) {
  Level& lv = levels_[l];
  const size_t nb = (keep + kRowBlock - 1) / kRowBlock;
  lv.keys.resize(keep * dim_);
  lv.blocks.resize(nb * dim_ * kRowBlock);
  lv.sq.resize(nb * kRowBlock);
  for (size_t j = keep; j < nb * kRowBlock;
       ++j) {  // the last block's rows past `keep`: padding again
    float* blk = lv.blocks.data() + (j / kRowBlock) * dim_ * kRowBlock + j % kRowBlock;
    for (size_t c = 0; c < dim_; ++c) blk[c * kRowBlock] = 0.0f;
    lv.sq[j] = std::numeric_limits<float>::infinity();
  }
}

Status MultiLevelDci::Place(uint32_t id, const float* key, std::vector<uint32_t>* top_ids,
                            std::vector<float>* top_keys) {
  const size_t top = levels_.size() - 1;
  // A non-finite or absurd key (a diverged model) is placed as the zero vector.
  const float sq_raw = Dot(key, key, dim_);
  const bool sane = std::isfinite(sq_raw) && sq_raw <= kMaxSqNorm;
  const float* k = key;
  std::vector<float> zero;
  if (!sane) {
    zero.assign(dim_, 0.0f);
    k = zero.data();
  }

  size_t l = DrawnLevel(id);
  while (l < top && levels_[l + 1].ids.empty()) ++l;
  Level& lv = levels_[l];
  const uint32_t local = uint32_t(lv.ids.size());
  if (l + 1 <= top) {
    const uint32_t p = Nearest(l + 1, k);
    lv.parent.push_back(p);
    levels_[l + 1].children[p].push_back(local);
  }
  lv.ids.push_back(id);
  if (l >= 1) {
    StoreKey(l, k, sane ? sq_raw : 0.0f);
    lv.children.emplace_back();
  }
  if (l == top) {
    if (top_ids != nullptr) {
      top_ids->push_back(id);
      top_keys->insert(top_keys->end(), key, key + dim_);
    } else {
      FLOE_RETURN_IF_ERROR(top_.Insert(id, key));
    }
  }
  return Status::Ok();
}

Status MultiLevelDci::Insert(uint32_t id, const float* key) {
  if (dim_ == 0) return InvalidArgument("multi-level DCI: Insert before Init");
  for (const Level& l : levels_)
    if (!l.ids.empty() && id <= l.ids.back())
      return InvalidArgument("multi-level DCI: key ids must increase (" + std::to_string(id) +
                             " after " + std::to_string(l.ids.back()) + ")");
  return Place(id, key, nullptr, nullptr);
}

Status MultiLevelDci::InsertBatch(const uint32_t* ids, const float* keys, size_t n) {
  if (dim_ == 0) return InvalidArgument("multi-level DCI: Insert before Init");
  if (n == 0) return Status::Ok();
  for (const Level& l : levels_)
    if (!l.ids.empty() && ids[0] <= l.ids.back())
      return InvalidArgument("multi-level DCI: key ids must increase");
  for (size_t i = 1; i < n; ++i)
    if (ids[i] <= ids[i - 1]) return InvalidArgument("multi-level DCI: key ids must increase");
  std::vector<uint32_t> top_ids;
  std::vector<float> top_keys;
  for (size_t i = 0; i < n; ++i)
    FLOE_RETURN_IF_ERROR(Place(ids[i], keys + i * dim_, &top_ids, &top_keys));
  return top_.InsertBatch(top_ids.data(), top_keys.data(), top_ids.size());
}

void MultiLevelDci::Truncate(uint32_t limit) {
  const size_t top = levels_.size() - 1;
  std::vector<size_t> keep(levels_.size());
  for (size_t l = 0; l <= top; ++l) {
    const auto& ids = levels_[l].ids;
    keep[l] = size_t(std::lower_bound(ids.begin(), ids.end(), limit) - ids.begin());
  }
  for (size_t l = 0; l <= top; ++l) {
    Level& lv = levels_[l];
    // Removed keys are the tail of the level; each is the last child of a surviving parent
    // when taken last first (children are in increasing order).
    if (l < top)
      for (size_t i = lv.ids.size(); i-- > keep[l];) {
        const uint32_t p = lv.parent[i];
        if (p < keep[l + 1]) levels_[l + 1].children[p].pop_back();
      }
    lv.ids.resize(keep[l]);
    if (l < top) lv.parent.resize(keep[l]);
    if (l >= 1) {
      CutKeys(l, keep[l]);
      lv.children.resize(keep[l]);
    }
  }
  top_.Truncate(limit);
}

void MultiLevelDci::KeepBest(size_t l, const float* q, const std::vector<uint32_t>& rows,
                             size_t keep, MultiLevelScratch* s) const {
  const size_t n = rows.size();
  s->scores.resize(n);
  AttentionScoresGather(q, dim_, levels_[l].keys.data(), dim_, DType::kF32, rows.data(), n, 1.0f,
                        s->scores.data());
  s->ranked.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const float v = s->scores[i];
    s->ranked[i] = {std::isnan(v) ? -std::numeric_limits<float>::infinity() : v, rows[i]};
  }
  const size_t m = std::min(keep, n);
  auto better = [](const std::pair<float, uint32_t>& a, const std::pair<float, uint32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  std::partial_sort(s->ranked.begin(), s->ranked.begin() + std::ptrdiff_t(m), s->ranked.end(),
                    better);
  s->kept.resize(m);
  for (size_t i = 0; i < m; ++i) s->kept[i] = s->ranked[i].second;
}

void MultiLevelDci::Candidates(const float* q, uint32_t lo, uint32_t hi, size_t k1, size_t k0,
                               DciScratch* dci_scratch, MultiLevelScratch* s,
                               std::vector<uint32_t>* out) const {
  if (levels_.empty() || top_.size() == 0 || k1 == 0 || lo > hi) return;
  const size_t top = levels_.size() - 1;
  const size_t keep = std::max<size_t>(1, (composite_ * k1 + fanout_ - 1) / fanout_);
  // The top level may hold nodes below lo whose children are eligible: search it over [0, hi].
  s->top.clear();
  top_.Candidates(q, 0, hi, keep, k0, dci_scratch, &s->top);
  const auto& top_ids = levels_[top].ids;
  s->rows.resize(s->top.size());
  for (size_t i = 0; i < s->top.size(); ++i)
    s->rows[i] =
        uint32_t(std::lower_bound(top_ids.begin(), top_ids.end(), s->top[i]) - top_ids.begin());
  KeepBest(top, q, s->rows, keep, s);
  for (uint32_t i : s->kept)
    if (top_ids[i] >= lo) out->push_back(top_ids[i]);
  for (size_t l = top; l >= 1; --l) {
    const auto& below = levels_[l - 1].ids;
    s->rows.clear();
    for (uint32_t node : s->kept)
      for (uint32_t c : levels_[l].children[node]) {
        if (below[c] > hi) break;  // children are in increasing id order
        s->rows.push_back(c);
      }
    if (l == 1) {
      for (uint32_t c : s->rows)
        if (below[c] >= lo) out->push_back(below[c]);
      break;
    }
    KeepBest(l - 1, q, s->rows, keep, s);
    for (uint32_t i : s->kept)
      if (below[i] >= lo) out->push_back(below[i]);
  }
}

size_t MultiLevelDci::LevelOfId(uint32_t id) const {
  for (size_t l = 0; l < levels_.size(); ++l)
    if (std::binary_search(levels_[l].ids.begin(), levels_[l].ids.end(), id)) return l;
  return levels_.size();
}

uint32_t MultiLevelDci::ParentOf(uint32_t id) const {
  for (size_t l = 0; l + 1 < levels_.size(); ++l) {
    const auto& ids = levels_[l].ids;
    auto it = std::lower_bound(ids.begin(), ids.end(), id);
    if (it != ids.end() && *it == id)
      return levels_[l + 1].ids[levels_[l].parent[size_t(it - ids.begin())]];
  }
  return std::numeric_limits<uint32_t>::max();
}

}  // namespace floe::ice
