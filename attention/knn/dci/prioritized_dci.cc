#include "attention/knn/dci/prioritized_dci.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "attention/knn/norm_bound.h"
#include "platform/kernels/ops.h"
#include "platform/kernels/search.h"

namespace floe::ice {

namespace {

uint64_t SplitMix64(uint64_t* s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in (0, 1): 53 random bits, never 0.
double Uniform(uint64_t* s) {
  return (double(SplitMix64(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

// Standard normal by Box-Muller (one value per call; simple and reproducible).
double Normal(uint64_t* s) {
  const double u1 = Uniform(s), u2 = Uniform(s);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

constexpr float kMaxSqNorm = 1.2676506e30f;  // 2^100
// R: the query sits on the sphere of radius R M (see the header).
constexpr float kQueryRadius = 4.0f;
// Ids a window hands over at a time (the search's scratch).
constexpr size_t kVisitChunk = 512;

// Visits ids[0, n) (distinct, eligible) in one simple index of the composite index being
// searched, in order, until `k1` retrievals; returns the retrieval count. An id is retrieved once
// every list of the composite has seen it: its entry in each of the other lists' seen maps
// holds `stamp` (FindStampedInAll; this list's own sightings in the chunk cannot matter, the
// ids are distinct). It becomes a candidate (appended to found[]) unless an earlier composite
// index retrieved it already (its candidate entry holds `cand_stamp`). The ids visited up to
// the k1-th retrieval are then marked seen in `mine`.
size_t VisitIds(const uint32_t* ids, size_t n, uint32_t lo, uint8_t* mine,
                const uint8_t* const* others, size_t n_others, uint8_t stamp, uint8_t* cand,
                uint8_t cand_stamp, uint32_t* hits, uint32_t* found, size_t* n_found,
                size_t retrieved, size_t k1) {
  if (retrieved >= k1 || n == 0) return retrieved;
  size_t h = FindStampedInAll(ids, n, lo, others, n_others, stamp, hits);
  size_t end = n;
  if (h >= k1 - retrieved) {  // the k1-th retrieval ends the composite index's search
    h = k1 - retrieved;
    end = size_t(hits[h - 1]) + 1;
  }
  for (size_t i = 0; i < end; ++i) mine[ids[i] - lo] = stamp;
  size_t nf = *n_found;
  for (size_t p = 0; p < h; ++p) {
    const uint32_t id = ids[hits[p]];
    uint8_t& c = cand[id - lo];
    found[nf] = id;
    nf += c != cand_stamp;
    c = cand_stamp;
  }
  *n_found = nf;
  return retrieved + h;
}

// Next stamp of a group of maps (`count` maps `stride` bytes apart): 1..255, the maps zeroed
// when it wraps so no stale entry can hold the new stamp.
uint8_t NextStamp(uint8_t* stamp, uint8_t* maps, size_t count, size_t stride) {
  if (++*stamp == 0) {
    std::fill(maps, maps + count * stride, uint8_t(0));
    *stamp = 1;
  }
  return *stamp;
}

}  // namespace

Status PrioritizedDci::Init(size_t dim, size_t simple_indices, size_t composite_indices,
                            uint64_t seed) {
  if (dim == 0 || simple_indices == 0 || composite_indices == 0 || simple_indices > 255)
    return InvalidArgument(
        "prioritized DCI: dimension and index counts must be positive (m <= 255)");
  dim_ = dim;
  m_ = simple_indices;
  L_ = composite_indices;
  const size_t n_idx = m_ * L_, row = dim_ + 1;
  dirs_.assign(n_idx * row, 0.0f);
  uint64_t state = seed;
  for (size_t i = 0; i < n_idx; ++i) {
    double norm = 0.0;
    std::vector<double> u(row);
    do {
      norm = 0.0;
      for (double& x : u) {
        x = Normal(&state);
        norm += x * x;
      }
    } while (norm == 0.0);
    const double inv = 1.0 / std::sqrt(norm);
    for (size_t c = 0; c < row; ++c) dirs_[i * row + c] = float(u[c] * inv);
  }
  lists_.clear();
  pool_ = std::make_unique<BlockPool>(SortedProjections::kSlotEntries * sizeof(ProjEntry));
  lists_.reserve(n_idx);
  for (size_t i = 0; i < n_idx; ++i) lists_.emplace_back(pool_.get());
  Clear();
  return Status::Ok();
}

void PrioritizedDci::Clear() {
  ids_.clear();
  raw_.clear();
  sq_norm_.clear();
  level_ = 0;
  m2_ = 0.0f;
  rebuilds_ = 0;
  for (auto& l : lists_) l.Clear();
}

PrioritizedDci& PrioritizedDci::operator=(const PrioritizedDci& other) {
  if (this == &other) return *this;
  dim_ = other.dim_;
  m_ = other.m_;
  L_ = other.L_;
  dirs_ = other.dirs_;
  ids_ = other.ids_;
  raw_ = other.raw_;
  sq_norm_ = other.sq_norm_;
  level_ = other.level_;
  m2_ = other.m2_;
  rebuilds_ = other.rebuilds_;
  lists_.clear();  // before their pool goes
  pool_.reset();
  if (other.pool_ == nullptr) return *this;
  pool_ = std::make_unique<BlockPool>(other.pool_->slot_bytes());
  lists_.reserve(other.lists_.size());
  for (const SortedProjections& l : other.lists_) {
    lists_.emplace_back(pool_.get());
    lists_.back().CopyFrom(l);
  }
  return *this;
}

size_t PrioritizedDci::bytes() const {
  size_t n = (dirs_.capacity() + raw_.capacity() + sq_norm_.capacity()) * sizeof(float) +
             ids_.capacity() * sizeof(uint32_t) + (pool_ ? pool_->bytes() : 0);
  for (const auto& l : lists_) n += l.bytes();
  return n;
}

float PrioritizedDci::Augmented(size_t key, size_t index) const {
  const float extra = std::sqrt(std::max(0.0f, m2_ - sq_norm_[key]));
  return raw_[key * m_ * L_ + index] + dirs_[index * (dim_ + 1) + dim_] * extra;
}

void PrioritizedDci::Reproject() {
  std::vector<ProjEntry> entries(ids_.size());
  for (size_t i = 0; i < lists_.size(); ++i) {
    for (size_t key = 0; key < ids_.size(); ++key) entries[key] = {Augmented(key, i), ids_[key]};
    lists_[i].Assign(entries);
  }
}

int PrioritizedDci::Append(uint32_t id, const float* key) {
  const size_t n_idx = m_ * L_;
  float sq = Dot(key, key, dim_);
  // A non-finite or absurd key (a diverged model) is indexed as the zero vector, so the sort
  // order stays well defined; attention still scores it exactly.
  const bool sane = std::isfinite(sq) && sq <= kMaxSqNorm;
  if (!sane) sq = 0.0f;
  ids_.push_back(id);
  sq_norm_.push_back(sq);
  for (size_t i = 0; i < n_idx; ++i)
    raw_.push_back(sane ? Dot(dirs_.data() + i * (dim_ + 1), key, dim_) : 0.0f);
  return NormLevel(sq);
}

Status PrioritizedDci::Insert(uint32_t id, const float* key) {
  if (dim_ == 0) return InvalidArgument("prioritized DCI: Insert before Init");
  if (!ids_.empty() && id <= ids_.back())
    return InvalidArgument("prioritized DCI: key ids must increase (" + std::to_string(id) +
                           " after " + std::to_string(ids_.back()) + ")");
  const size_t k = ids_.size();
  const int level = Append(id, key);
  if (k == 0 || level > level_) {
    level_ = level;
    m2_ = LevelToBoundSq(level_);
    if (k > 0) {  // the bound grew: every stored key moves on the new sphere
      ++rebuilds_;
      Reproject();
      return Status::Ok();
    }
  }
  for (size_t i = 0; i < m_ * L_; ++i) lists_[i].Insert({Augmented(k, i), id});
  return Status::Ok();
}

Status PrioritizedDci::InsertBatch(const uint32_t* ids, const float* keys, size_t n) {
  if (dim_ == 0) return InvalidArgument("prioritized DCI: Insert before Init");
  for (size_t i = 0; i < n; ++i)
    if ((i > 0 && ids[i] <= ids[i - 1]) || (i == 0 && !ids_.empty() && ids[0] <= ids_.back()))
      return InvalidArgument("prioritized DCI: key ids must increase");
  if (n == 0) return Status::Ok();
  // Into a filled index one at a time: a batch re-sorts every stored key, which costs O(n) per
  // small chunk (a prefill block's few keys). Same index either way.
  if (!ids_.empty()) {
    for (size_t i = 0; i < n; ++i) FLOE_RETURN_IF_ERROR(Insert(ids[i], keys + i * dim_));
    return Status::Ok();
  }
  int level = std::numeric_limits<int>::min();
  for (size_t i = 0; i < n; ++i) level = std::max(level, Append(ids[i], keys + i * dim_));
  level_ = level;
  m2_ = LevelToBoundSq(level_);
  Reproject();
  return Status::Ok();
}

void PrioritizedDci::Truncate(uint32_t limit) {
  if (ids_.empty() || ids_.back() < limit) return;
  const size_t keep = size_t(std::lower_bound(ids_.begin(), ids_.end(), limit) - ids_.begin());
  ids_.resize(keep);
  sq_norm_.resize(keep);
  raw_.resize(keep * m_ * L_);
  if (keep == 0) {
    Clear();
    return;
  }
  level_ = NormLevel(sq_norm_[0]);
  for (float sq : sq_norm_) level_ = std::max(level_, NormLevel(sq));
  m2_ = LevelToBoundSq(level_);
  Reproject();
}

void PrioritizedDci::Candidates(const float* q, uint32_t lo, uint32_t hi, size_t k1, size_t k0,
                                DciScratch* s, std::vector<uint32_t>* out) const {
  s->visited = 0;
  if (ids_.empty() || k1 == 0) return;
  // Only stored ids can be retrieved (this also bounds the stamp maps below).
  lo = std::max(lo, ids_.front());
  hi = std::min(hi, ids_.back());
  if (lo > hi) return;
  const size_t n_idx = m_ * L_;
  if (k0 == 0) k0 = std::numeric_limits<size_t>::max();

  // Query transform: q~ = (R M q / |q|, 0); its projection onto u is (R M / |q|) u[:d] . q.
  const float qn = std::sqrt(Dot(q, q, dim_));
  const float scale = qn > 0.0f && std::isfinite(qn) ? kQueryRadius * std::sqrt(m2_) / qn : 0.0f;
  s->query_proj.resize(n_idx);
  s->windows.resize(n_idx);
  s->tau.resize(n_idx);
  for (size_t i = 0; i < n_idx; ++i) {
    s->query_proj[i] = scale * Dot(dirs_.data() + i * (dim_ + 1), q, dim_);
    if (!std::isfinite(s->query_proj[i])) s->query_proj[i] = 0.0f;
    s->windows[i] = SortedProjections::Window(lists_[i], s->query_proj[i], lo, hi);
  }
  // First bounds: about sqrt(k1 n) / 8 entries on each side of the query in every list
  // (independent lists would need ~sqrt(k1 n) visits each for k1 retrievals).
  // (The eligible id range stands in for n: the search must not depend on ineligible keys.)
  const size_t first_span =
      std::max<size_t>(4, size_t(std::sqrt(double(k1) * (double(hi - lo) + 1.0))) / 8);
  constexpr float kGrowth = 1.25f;

  // Stamp maps over the eligible ids: m seen maps, then the candidate map.
  const size_t len = size_t(hi - lo) + 1;
  if (s->map_count != m_ + 1 || s->map_len < len) {
    s->map_count = m_ + 1;
    s->map_len = len;
    s->maps.assign(s->map_count * (len + kStampMapPad), 0);
    s->seen_stamp = s->cand_stamp = 0;
  }
  const size_t stride = s->map_len + kStampMapPad;
  uint8_t* const seen = s->maps.data();
  uint8_t* const cand = seen + m_ * stride;
  const uint8_t cand_stamp = NextStamp(&s->cand_stamp, cand, 1, stride);
  // Candidates are written in place: at most L k1 of them.
  const size_t base = out->size();
  out->resize(base + std::min(L_ * k1, len) + 1);
  uint32_t* const found = out->data() + base;
  size_t n_found = 0;
  s->ids.resize(kVisitChunk + kCollectSlack);
  s->hits.resize(kVisitChunk + kCollectSlack);
  s->others.resize(m_ - 1);
  uint32_t* const chunk = s->ids.data();
  for (size_t l = 0; l < L_; ++l) {
    SortedProjections::Window* w = s->windows.data() + l * m_;
    const uint8_t stamp = NextStamp(&s->seen_stamp, seen, m_, stride);
    size_t retrieved = 0;
    auto visit = [&](size_t j, const uint32_t* ids, size_t n) {
      for (size_t t = 0, o = 0; t < m_; ++t)
        if (t != j) s->others[o++] = seen + t * stride;
      retrieved = VisitIds(ids, n, lo, seen + j * stride, s->others.data(), m_ - 1, stamp, cand,
                           cand_stamp, s->hits.data(), found, &n_found, retrieved, k1);
    };
    // A list is closed when exhausted or after k0 visits.
    auto open = [&](size_t j) { return !w[j].done() && w[j].visited() < k0; };
    // One bound per list, each starting at the same rank (first_span entries per side), all
    // grown by the same factor: the lists advance at matched ranks, whatever their density
    // around the query.
    float* tau = s->tau.data() + l * m_;
    for (size_t j = 0; j < m_; ++j) tau[j] = w[j].SpanOf(first_span);
    for (;;) {
      for (size_t j = 0; j < m_ && retrieved < k1; ++j) {
        while (open(j) && retrieved < k1) {
          const size_t cap = std::min(kVisitChunk, k0 - w[j].visited());
          const size_t n = w[j].Collect(tau[j], cap, chunk);
          visit(j, chunk, n);
          if (n < cap) break;  // the list reached its bound
        }
      }
      if (retrieved >= k1) break;
      bool any = false;
      for (size_t j = 0; j < m_; ++j) {
        if (!open(j)) continue;
        any = true;
        tau[j] = std::max(tau[j] * kGrowth, w[j].next_distance());
      }
      if (!any) break;
    }
  }
  out->resize(base + n_found);
  for (size_t i = 0; i < n_idx; ++i) s->visited += s->windows[i].visited();
}

}  // namespace floe::ice
