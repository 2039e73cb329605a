#include "attention/knn/ice_attention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>

#include <tbb/enumerable_thread_specific.h>

#include "attention/dense/dense_attention.h"
#include "platform/kernels/ops.h"
#include "platform/kernels/search.h"

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
  std::vector<uint32_t> topk, positions;
  std::vector<std::pair<float, uint32_t>> scored;
  std::vector<float> scores;
  // A shared search (IceAttendBlock): up to 16 queries transposed, their scores against
  // the candidates (key-major), group maxima, and each query's surviving candidates.
  std::vector<float> block_qt, block_scores, block_maxima, group_q;
  std::vector<std::pair<float, uint32_t>> lane_scored[ice::kScoreLanes];
  std::vector<float> keys;  // keys on their way into the index (KnnIndexSet::Extend)
};

// One search of a call (phase 1 of IceAttention), for phase 2 to rank.
struct Found {
  std::vector<uint32_t> ids;
  bool searched = false;  // false: no search here (dense positions, or carried candidates)
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
      AttentionScores(q, 1, hd, c.Key(layer, positions[i], kv_head), stride, c.dtype(), run, scale,
                      sc + i);
    } else {
      for (size_t j = i; j < i + run; ++j)
        sc[j] = KeyDot(c, layer, positions[j], kv_head, q) * scale;
    }
    i += run;
  }
  float mx = -std::numeric_limits<float>::infinity();
  const float sum =
      positions.empty() ? 0.0f : SoftmaxTile(sc, positions.size(), positions.size(), &mx);
  std::fill(out, out + hd, 0.0f);
  const bool f16 = c.dtype() == DType::kF16;
  for (size_t i = 0; i < positions.size();) {
    const size_t run = RunLength(positions, i);
    if (run >= kMinRun) {
      AttentionAccumulate(sc + i, 1, hd, c.Value(layer, positions[i], kv_head), stride, c.dtype(),
                          run, out);
    } else {
      for (size_t j = i; j < i + run; ++j) {
        const void* v = c.Value(layer, positions[j], kv_head);
        if (f16)
          AxpyF16(sc[j], static_cast<const uint16_t*>(v), out, hd);
        else
          Axpy(sc[j], static_cast<const float*>(v), out, hd);
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

namespace {

constexpr float kNoScore = -std::numeric_limits<float>::infinity();

bool Better(const std::pair<float, uint32_t>& a, const std::pair<float, uint32_t>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

// Only candidates not below a cut need ranking. The cut: split the candidates into G >= k
// groups; k groups hold an eligible score >= the k-th largest group maximum, so the k-th best
// score is >= it too. Group count for n candidates (0: no cut worth making), at most
// kMaxCutGroups (the group maxima live on the stack).
constexpr size_t kMaxCutGroups = 512;
size_t CutGroups(size_t n, size_t k) {
  return k > 0 && n > 4 * k && 2 * k <= kMaxCutGroups ? 2 * k : 0;
}

}  // namespace

void FinishTopK(std::vector<std::pair<float, uint32_t>>* scored, size_t k,
                std::vector<uint32_t>* out) {
  // Ids are distinct, so Better is a strict total order: the k chosen do not depend on the
  // order the candidates came in.
  if (scored->size() > k) {
    std::nth_element(scored->begin(), scored->begin() + ptrdiff_t(k - 1), scored->end(), Better);
    scored->resize(k);
  }
  std::sort(scored->begin(), scored->end(), Better);
  out->resize(scored->size());
  for (size_t j = 0; j < scored->size(); ++j) (*out)[j] = (*scored)[j].second;
}

size_t TopKOfScores(const float* scores, std::span<const uint32_t> ids, uint32_t below, size_t k,
                    std::vector<std::pair<float, uint32_t>>* scored, std::vector<uint32_t>* out) {
  // Rank score: NaN ranks as -inf; ineligible ids (>= below) never rank.
  auto rank = [&](size_t i) { return std::isnan(scores[i]) ? kNoScore : scores[i]; };
  const size_t n = ids.size();
  size_t admitted = 0;
  for (size_t i = 0; i < n; ++i) admitted += ids[i] < below;
  float cut = kNoScore;
  if (const size_t groups = CutGroups(n, k)) {
    float maxima[kMaxCutGroups];
    const size_t per = (n + groups - 1) / groups;
    size_t g = 0;
    for (size_t i0 = 0; i0 < n; i0 += per, ++g) {
      float m = kNoScore;
      for (size_t i = i0; i < std::min(n, i0 + per); ++i)
        m = std::max(m, ids[i] < below ? rank(i) : kNoScore);
      maxima[g] = m;
    }
    if (g >= k) {
      std::nth_element(maxima, maxima + (k - 1), maxima + g, std::greater<float>());
      cut = maxima[k - 1];
    }
  }
  scored->clear();
  if (k > 0)
    for (size_t i = 0; i < n; ++i)
      if (ids[i] < below && !(scores[i] < cut)) scored->emplace_back(rank(i), ids[i]);
  FinishTopK(scored, k, out);
  return admitted;
}

void TopKOfScores16(const float* scores, std::span<const uint32_t> ids, const uint32_t* below,
                    size_t n_q, size_t k, std::vector<float>* maxima,
                    std::vector<std::pair<float, uint32_t>>* scored, size_t* admitted) {
  constexpr size_t L = kScoreLanes;
  static_assert(L == kSelectLanes, "one candidate's scores are one row of the lane kernels");
  const size_t n = ids.size();
  uint32_t lim[L];
  float cut[L];
  for (size_t g = 0; g < L; ++g) {
    lim[g] = g < n_q ? below[g] : 0;  // unused lanes admit nothing
    cut[g] = kNoScore;
    admitted[g] = 0;
    scored[g].clear();
  }
  if (const size_t groups = CutGroups(n, k)) {
    // Group maxima of every lane at once (NaN and ineligible scores do not raise a maximum).
    maxima->resize(groups * L);
    const size_t n_groups =
        LaneGroupMaxima16(scores, ids.data(), n, lim, (n + groups - 1) / groups, maxima->data());
    if (n_groups >= k) {
      float column[kMaxCutGroups];
      for (size_t g = 0; g < n_q; ++g) {
        for (size_t j = 0; j < n_groups; ++j) column[j] = (*maxima)[j * L + g];
        std::nth_element(column, column + (k - 1), column + n_groups, std::greater<float>());
        cut[g] = column[k - 1];
      }
    }
  }
  // The lanes' offers (eligible, not below the cut), a chunk of candidates at a time.
  constexpr size_t kChunk = 256;
  uint16_t offers[kChunk];
  for (size_t i0 = 0; i0 < n; i0 += kChunk) {
    const size_t m = std::min(kChunk, n - i0);
    LaneOffers16(scores + i0 * L, ids.data() + i0, m, lim, cut, offers, admitted);
    if (k == 0) continue;
    for (size_t i = 0; i < m; ++i) {
      const float* r = scores + (i0 + i) * L;
      for (uint32_t bits = offers[i]; bits != 0; bits &= bits - 1) {
        const size_t g = size_t(__builtin_ctz(bits));
        scored[g].emplace_back(std::isnan(r[g]) ? kNoScore : r[g], ids[i0 + i]);
      }
    }
  }
}

void TopKByInnerProduct(const KvCache& c, size_t layer, size_t kv_head, const float* q,
                        std::span<const uint32_t> candidates, size_t k, std::vector<float>* scores,
                        std::vector<std::pair<float, uint32_t>>* scored,
                        std::vector<uint32_t>* out) {
  const size_t n = candidates.size();
  scores->resize(n);
  AttentionScoresGather(q, c.head_dim(), c.Key(layer, 0, kv_head),
                        c.pos_stride_bytes() / DTypeSize(c.dtype()), c.dtype(), candidates.data(),
                        n, 1.0f, scores->data());
  TopKOfScores(scores->data(), candidates, std::numeric_limits<uint32_t>::max(), k, scored, out);
}

}  // namespace ice

namespace {

// What the query at `pos` attends to (see ice_attention.h).
struct QueryRanges {
  size_t n_keys = 0, sinks = 0, window_begin = 0;  // eligible for retrieval: [sinks, window_begin)
  bool sparse = false;  // takes the kNN path (monotone in pos: once sparse, later ones are too)
};

QueryRanges RangesOf(const AttentionSettings& st, size_t pos) {
  QueryRanges r;
  r.n_keys = pos + 1;
  r.sinks = std::min(st.sinks, r.n_keys);
  r.window_begin = ice::WindowBegin(st, pos);
  r.sparse = r.n_keys >= st.dense_below && r.window_begin - r.sinks > st.k;
  return r;
}

void Record(const IceAttentionArgs& a, size_t head, size_t kv_head, size_t pos,
            const QueryRanges& r, const float* q, const float* out,
            std::span<const uint32_t> retrieved, size_t n_candidates) {
  if (!a.probe || !a.probe->Wants(a.layer, head, pos)) return;
  AttentionProbeEvent e;
  e.layer = a.layer;
  e.head = head;
  e.kv_head = kv_head;
  e.position = pos;
  e.q = q;
  e.cache = a.cache;
  e.cache_layer = a.layer;
  e.cache_kv_head = kv_head;
  e.sparse = r.sparse;
  e.k = a.settings->k;
  if (r.sparse) {
    e.retrieved = retrieved;
    e.candidates = n_candidates;
  }
  e.eligible_begin = r.sinks;
  e.eligible_end = r.window_begin;
  e.out = out;
  a.probe->Record(e);
}

// One query head at `pos` with the candidates its own search found (`found`, phase 1).
Status IceAttendOne(const IceAttentionArgs& a, size_t head, size_t kv_head, size_t pos,
                    const float* q, float* out, const ice::Found& found, ice::Scratch* s) {
  const AttentionSettings& st = *a.settings;
  const QueryRanges r = RangesOf(st, pos);
  if (!r.sparse) {
    DenseAttendOne(*a.cache, a.layer, kv_head, q, r.n_keys, out);
    Record(a, head, kv_head, pos, r, q, out, {}, 0);
    return Status::Ok();
  }
  if (!found.searched) return Internal("ice attention: a kNN query without a search");
  ice::TopKByInnerProduct(*a.cache, a.layer, kv_head, q, found.ids, st.k, &s->scores, &s->scored,
                          &s->topk);
  ice::AttendedPositions(r.sinks, s->topk, r.window_begin, r.n_keys, &s->positions);
  ice::SparseAttendOne(*a.cache, a.layer, kv_head, q, s->positions, &s->scores, out);
  Record(a, head, kv_head, pos, r, q, out, s->topk, found.ids.size());
  return Status::Ok();
}

// The first kNN position in [t0, t1) of the call, or t1 (sparse depends on the position alone).
size_t FirstSparse(const IceAttentionArgs& a, size_t t0, size_t t1) {
  size_t t = t0;
  while (t < t1 && !RangesOf(*a.settings, a.first_pos + t).sparse) ++t;
  return t;
}

// Phase 1 of IceAttention for one KV head: its searches in position order, the index growing
// just before each to what that search may see (IndexLimit), then to the call's end.
// `found`: n_units x members entries for this head; a unit is a search block (shared: one
// member) or a position (one search per query head of the group: G members).
Status SearchUnits(const IceAttentionArgs& a, size_t kv_head, bool shared_path, size_t unit,
                   size_t first_unit, size_t n_units, const ice::SharedCandidates::Entry* carried,
                   ice::Found* found, ice::Scratch* s) {
  const AttentionSettings& st = *a.settings;
  const KvCache& c = *a.cache;
  const size_t hd = c.head_dim(), row = a.n_heads * hd, G = a.n_heads / c.n_kv_heads(),
               h0 = kv_head * G;
  auto q_of = [&](size_t t, size_t g) { return a.q + t * row + (h0 + g) * hd; };
  const KnnIndex& index = a.index->at(a.layer, kv_head);
  const size_t members = shared_path ? 1 : G;
  for (size_t u = 0; u < n_units; ++u) {
    const size_t t0 = std::max((first_unit + u) * unit, a.first_pos) - a.first_pos;
    const size_t t1 = std::min((first_unit + u + 1) * unit, a.first_pos + a.n_tokens) - a.first_pos;
    for (size_t j = 0; j < members; ++j) found[u * members + j].searched = false;
    const size_t rep = FirstSparse(a, t0, t1);
    if (rep == t1) continue;
    if (shared_path && u == 0 && carried != nullptr && carried->block == first_unit) continue;
    const size_t rep_pos = a.first_pos + rep;
    FLOE_RETURN_IF_ERROR(
        a.index->Extend(c, a.layer, kv_head, ice::IndexLimit(st, rep_pos + 1), &s->keys));
    const QueryRanges r = RangesOf(st, rep_pos);
    if (!shared_path) {
      for (size_t g = 0; g < G; ++g) {
        ice::Found& f = found[u * members + g];
        f.ids.clear();
        FLOE_RETURN_IF_ERROR(index.Search(q_of(rep, g), uint32_t(r.sinks),
                                          uint32_t(r.window_begin - 1), st.k, &s->knn, &f.ids));
        f.searched = true;
      }
      continue;
    }
    // The keys the block's queries may retrieve (a function of the block, not of the call),
    // but none after the searching position itself. It serves the whole block (and group), so
    // it asks for more than one query's k.
    const size_t block_end = (first_unit + u + 1) * unit;
    const size_t hi = std::min(RangesOf(st, block_end - 1).window_begin - 1, rep_pos);
    const size_t k_search =
        std::max(st.k, size_t(std::ceil(double(st.search_scale) * double(st.k))));
    const float* query = q_of(rep, 0);
    if (G > 1) {  // the group's direction: the sum of its unit queries
      s->group_q.assign(hd, 0.0f);
      for (size_t g = 0; g < G; ++g) {
        const float* q = q_of(rep, g);
        double n2 = 0.0;
        for (size_t i = 0; i < hd; ++i) n2 += double(q[i]) * double(q[i]);
        const float inv = n2 > 0.0 ? float(1.0 / std::sqrt(n2)) : 0.0f;
        for (size_t i = 0; i < hd; ++i) s->group_q[i] += q[i] * inv;
      }
      query = s->group_q.data();
    }
    ice::Found& f = found[u];
    f.ids.clear();
    FLOE_RETURN_IF_ERROR(
        index.Search(query, uint32_t(r.sinks), uint32_t(hi), k_search, &s->knn, &f.ids));
    f.searched = true;
  }
  return a.index->Extend(c, a.layer, kv_head, ice::IndexLimit(st, a.first_pos + a.n_tokens),
                         &s->keys);
}

// Tokens [t0, t1) of the call (consecutive positions of one block), the query heads of one KV
// head (a GQA group of G), sharing one search (see AttentionSettings::search_block): `carried`
// holds the block's candidates if an earlier call made them; otherwise `found` holds those of
// the group's search at its first kNN position (phase 1), made with the sum of its heads' unit
// queries there (G = 1: the query itself). Every kNN query then ranks the candidates exactly
// (16 queries at a time against each candidate key row, read from the cache once per 16) and
// keeps its eligible top-k. `store` (the call's last block, when it continues past the call)
// receives the candidates. A decode step (G queries) scores them from a copy of their key rows
// kept in the entry (made by the block's second step): one sequential pass for the group
// instead of scattered rows per head at every step; the scores are the same (one reduction
// tree per 16 rows either way).
Status IceAttendBlock(const IceAttentionArgs& a, size_t kv_head, size_t t0, size_t t1,
                      ice::SharedCandidates::Entry* carried, ice::SharedCandidates::Entry* store,
                      const ice::Found& found, ice::Scratch* s) {
  constexpr size_t L = ice::kScoreLanes;
  const AttentionSettings& st = *a.settings;
  const KvCache& c = *a.cache;
  const size_t hd = c.head_dim(), row = a.n_heads * hd, G = a.n_heads / c.n_kv_heads(),
               h0 = kv_head * G;
  auto q_of = [&](size_t t, size_t g) { return a.q + t * row + (h0 + g) * hd; };
  auto out_of = [&](size_t t, size_t g) { return a.out + t * row + (h0 + g) * hd; };
  const uint64_t block = (a.first_pos + t0) / st.search_block;
  const size_t block_end = size_t(block + 1) * st.search_block;
  if (store) store->block = ice::SharedCandidates::kNoBlock;
  const size_t rep = FirstSparse(a, t0, t1);
  for (size_t t = t0; t < rep; ++t) {
    const QueryRanges r = RangesOf(st, a.first_pos + t);
    for (size_t g = 0; g < G; ++g) {
      DenseAttendOne(c, a.layer, kv_head, q_of(t, g), r.n_keys, out_of(t, g));
      Record(a, h0 + g, kv_head, a.first_pos + t, r, q_of(t, g), out_of(t, g), {}, 0);
    }
  }
  if (rep == t1) return Status::Ok();
  const bool from_carried = !found.searched;
  if (from_carried && (carried == nullptr || carried->block != block))
    return Internal("ice attention: a search block without candidates");
  const std::vector<uint32_t>* cand = from_carried ? &carried->ids : &found.ids;
  // A search made here was made at the block's first kNN position (phase 1 finds the same).
  const uint32_t searched_at = from_carried ? carried->first : uint32_t(a.first_pos + rep);
  const std::span<const uint32_t> ids(*cand);
  const size_t n = ids.size();
  auto attend = [&](size_t t, size_t g, size_t admitted) {
    const size_t pos = a.first_pos + t;
    const QueryRanges r = RangesOf(st, pos);
    ice::AttendedPositions(r.sinks, s->topk, r.window_begin, r.n_keys, &s->positions);
    ice::SparseAttendOne(c, a.layer, kv_head, q_of(t, g), s->positions, &s->scores, out_of(t, g));
    Record(a, h0 + g, kv_head, pos, r, q_of(t, g), out_of(t, g), s->topk, admitted);
  };
  const size_t stride = c.pos_stride_bytes() / DTypeSize(c.dtype());
  const bool continues = store != nullptr && a.first_pos + t1 < block_end;
  if (t1 - rep == 1) {  // a decode step: G rows of scores, 16 keys per reduction tree
    s->block_scores.resize(G * n);
    const size_t row_bytes = hd * DTypeSize(c.dtype());
    std::vector<uint8_t>* rows = from_carried ? &carried->keys : nullptr;
    if (rows != nullptr && rows->size() != n * row_bytes && continues) {
      rows->resize(n * row_bytes);  // the block's second step: copy the rows once
      for (size_t i = 0; i < n; ++i)
        std::memcpy(rows->data() + i * row_bytes, c.Key(a.layer, ids[i], kv_head), row_bytes);
    }
    if (rows != nullptr && rows->size() == n * row_bytes) {
      AttentionScores(q_of(rep, 0), G, hd, rows->data(), hd, c.dtype(), n, 1.0f,
                      s->block_scores.data());
    } else {
      for (size_t g = 0; g < G; ++g)
        AttentionScoresGather(q_of(rep, g), hd, c.Key(a.layer, 0, kv_head), stride, c.dtype(),
                              ids.data(), n, 1.0f, s->block_scores.data() + g * n);
    }
    const uint32_t below = uint32_t(RangesOf(st, a.first_pos + rep).window_begin);
    for (size_t g = 0; g < G; ++g) {
      const size_t admitted =
          ice::TopKOfScores(s->block_scores.data() + g * n, ids, below, st.k, &s->scored, &s->topk);
      attend(rep, g, admitted);
    }
  } else {  // (position, head) queries, 16 per pass over the candidate rows
    s->block_scores.resize(n * L);
    s->block_qt.resize(hd * L);
    const size_t n_queries = (t1 - rep) * G;
    for (size_t j0 = 0; j0 < n_queries; j0 += L) {
      const size_t n_q = std::min(L, n_queries - j0);
      std::fill(s->block_qt.begin(), s->block_qt.end(), 0.0f);
      uint32_t below[L];
      for (size_t j = 0; j < n_q; ++j) {
        const size_t t = rep + (j0 + j) / G, g = (j0 + j) % G;
        const float* q = q_of(t, g);
        for (size_t i = 0; i < hd; ++i) s->block_qt[i * L + j] = q[i];
        below[j] = uint32_t(RangesOf(st, a.first_pos + t).window_begin);
      }
      if (n > 0)
        AttentionScoresGather16(s->block_qt.data(), hd, c.Key(a.layer, 0, kv_head), stride,
                                c.dtype(), ids.data(), n, 1.0f, s->block_scores.data());
      size_t admitted[L];
      ice::TopKOfScores16(s->block_scores.data(), ids, below, n_q, st.k, &s->block_maxima,
                          s->lane_scored, admitted);
      for (size_t j = 0; j < n_q; ++j) {
        ice::FinishTopK(&s->lane_scored[j], st.k, &s->topk);
        attend(rep + (j0 + j) / G, (j0 + j) % G, admitted[j]);
      }
    }
  }
  if (continues) {  // the block goes on after this call
    store->block = block;
    store->first = searched_at;
    if (from_carried) {  // the same entry moves back (its memory with it: no copy per step)
      store->ids.swap(carried->ids);
      store->keys.swap(carried->keys);
    } else {
      store->ids.assign(ids.begin(), ids.end());
      store->keys.clear();  // copied by the block's second step
    }
  }
  return Status::Ok();
}

}  // namespace

struct IceScratchPool::Impl {
  tbb::enumerable_thread_specific<ice::Scratch> per_thread;
  std::vector<ice::Found> found;  // a call's searches (phase 1), kept for their capacity
};

IceScratchPool::IceScratchPool() : impl_(std::make_unique<Impl>()) {}
IceScratchPool::~IceScratchPool() = default;
IceScratchPool::IceScratchPool(const IceScratchPool&) : impl_(std::make_unique<Impl>()) {}
IceScratchPool& IceScratchPool::operator=(const IceScratchPool&) { return *this; }

Status IceAttention(const IceAttentionArgs& a, ThreadContext* threads) {
  if (a.n_tokens == 0) return Status::Ok();
  const size_t hd = a.cache->head_dim();
  const size_t group = a.n_heads / a.cache->n_kv_heads();
  const size_t row = a.n_heads * hd;
  // One scratch per worker thread (the DCI stamp maps are sized to the context and never
  // cleared or reallocated per query).
  std::optional<IceScratchPool> temporary;
  IceScratchPool& pool = a.scratch ? *a.scratch : temporary.emplace();
  // The first error (a FAISS failure) is returned; after a failed search nothing is ranked.
  std::atomic<bool> failed{false};
  std::mutex error_mu;
  Status error;
  auto fail = [&](Status st) {
    if (!st.ok() && !failed.exchange(true)) {
      std::lock_guard<std::mutex> lock(error_mu);
      error = std::move(st);
    }
  };
  // Shared searches: blocks of search_block positions (cut at its multiples), the candidates
  // of a block carried across calls in a.shared. (DCI only: a FAISS search returns exactly the
  // keys asked for, too few to share.) Otherwise one search per query head and position.
  const bool shared_path =
      a.settings->search_block > 1 && a.settings->backend == AttentionBackend::kIce;
  const size_t unit = shared_path ? a.settings->search_block : 1;
  const size_t first_unit = a.first_pos / unit, last_unit = (a.first_pos + a.n_tokens - 1) / unit;
  const size_t n_units = last_unit - first_unit + 1, n_kv = a.cache->n_kv_heads();
  const size_t members = shared_path ? 1 : group;
  if (shared_path && a.shared) a.shared->TakeCarried(a.layer, first_unit);
  // Phase 1: per KV head, its searches in position order (the index of (layer, head) grows
  // between them, see IndexLimit).
  std::vector<ice::Found>& found = pool.impl().found;
  if (found.size() < n_kv * n_units * members) found.resize(n_kv * n_units * members);
  auto search = [&](size_t begin, size_t end) {
    ice::Scratch& scratch = pool.impl().per_thread.local();
    for (size_t g = begin; g < end; ++g) {
      const ice::SharedCandidates::Entry* carried =
          shared_path && a.shared ? &a.shared->carried(a.layer, g) : nullptr;
      fail(SearchUnits(a, g, shared_path, unit, first_unit, n_units, carried,
                       found.data() + g * n_units * members, &scratch));
    }
  };
  if (threads)
    threads->ParallelFor(n_kv, 1, search);
  else
    search(0, n_kv);
  if (failed.load()) {
    std::lock_guard<std::mutex> lock(error_mu);
    return error;
  }
  // Phase 2: ranking and sparse softmax, every (KV head, block) or (position, head) apart.
  if (shared_path) {
    auto work = [&](size_t begin, size_t end) {
      ice::Scratch& scratch = pool.impl().per_thread.local();
      for (size_t i = begin; i < end; ++i) {
        // KV-head-major: a thread's consecutive tasks re-read one head's keys (kept in cache).
        const size_t g = i / n_units, u = i % n_units, b = first_unit + u;
        const size_t t0 = std::max(b * unit, a.first_pos) - a.first_pos;
        const size_t t1 = std::min((b + 1) * unit, a.first_pos + a.n_tokens) - a.first_pos;
        ice::SharedCandidates::Entry* carried =
            a.shared && b == first_unit ? &a.shared->carried(a.layer, g) : nullptr;
        ice::SharedCandidates::Entry* store =
            a.shared && b == last_unit ? &a.shared->at(a.layer, g) : nullptr;
        fail(IceAttendBlock(a, g, t0, t1, carried, store, found[g * n_units + u], &scratch));
      }
    };
    const size_t n_tasks = n_units * n_kv;
    if (threads)
      threads->ParallelFor(n_tasks, 1, work);
    else
      work(0, n_tasks);
    std::lock_guard<std::mutex> lock(error_mu);
    return error;
  }
  auto work = [&](size_t begin, size_t end) {
    ice::Scratch& scratch = pool.impl().per_thread.local();
    for (size_t i = begin; i < end; ++i) {
      const size_t t = i / a.n_heads, h = i % a.n_heads, g = h / group;
      const ice::Found& f = found[(g * n_units + t) * members + h % group];
      fail(IceAttendOne(a, h, g, a.first_pos + t, a.q + t * row + h * hd, a.out + t * row + h * hd,
                        f, &scratch));
    }
  };
  const size_t n = a.n_tokens * a.n_heads;
  if (threads)
    threads->ParallelFor(n, 1, work);
  else
    work(0, n);
  std::lock_guard<std::mutex> lock(error_mu);
  return error;
}

}  // namespace floe
