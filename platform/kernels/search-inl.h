// Per-target Highway loops for the kernels of search.h. Re-included once per target by
// hwy/foreach_target.h from search.cc.
//
// The run scans take whole vectors of records (lane i = one record, in scan order: the
// backward scan reverses its loads) and finish the last partial vector with the scalar loop,
// which is also the definition every vector step reproduces exactly: same float subtraction,
// same comparison, same order of ids.

#if defined(FLOE_SEARCH_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef FLOE_SEARCH_INL_H_
#undef FLOE_SEARCH_INL_H_
#else
#define FLOE_SEARCH_INL_H_
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "hwy/highway.h"
#include "platform/kernels/search.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Records prefetched ahead of a run scan: runs are short (a window grows by a few lines per
// round before the search moves to another list) and the lists are cold, too little for the
// hardware prefetcher to ramp up. The address is formed as an integer: it may lie past the
// caller's array (a prefetch never faults).
constexpr size_t kRunPrefetchRecords = 64;  // 8 lines (128 and 256 measured no better)

template <bool kForward>
HWY_INLINE const ValueId* RecordAt(const ValueId* base, size_t i) {
  return kForward ? base + i : base - 1 - i;
}

// Scalar steps from record i on; the definition of both scans.
template <bool kForward>
HWY_INLINE RunCollected CollectRunScalar(const ValueId* base, size_t i, size_t n, float target,
                                         float tau, uint32_t lo, uint32_t span, size_t max_out,
                                         uint32_t* out, size_t w) {
  for (; i < n && w < max_out; ++i) {
    const ValueId& e = *RecordAt<kForward>(base, i);
    if (!((kForward ? e.value - target : target - e.value) <= tau)) break;
    out[w] = e.id;
    w += e.id - lo <= span;
  }
  return {i, w};
}

template <bool kForward>
HWY_INLINE RunCollected CollectRunT(const ValueId* base, size_t n, float target, float tau,
                                    uint32_t lo, uint32_t span, size_t max_out, uint32_t* out) {
  const hn::ScalableTag<float> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const size_t N = hn::Lanes(df);
  const auto target_v = hn::Set(df, target);
  const auto tau_v = hn::Set(df, tau);
  const auto lo_v = hn::Set(du, lo);
  const auto span_v = hn::Set(du, span);
  size_t i = 0, w = 0;
  while (i + N <= n && w < max_out) {
    const ValueId* first = kForward ? base + i : base - i - N;  // lowest address of this step
    // Every line of the step's records, kRunPrefetchRecords ahead in the scan's direction.
    const uintptr_t ahead =
        reinterpret_cast<uintptr_t>(first) +
        (kForward ? uintptr_t(kRunPrefetchRecords * sizeof(ValueId))
                  : uintptr_t(0) - uintptr_t(kRunPrefetchRecords * sizeof(ValueId)));
    for (size_t line = 0; line < N * sizeof(ValueId); line += 64)
      __builtin_prefetch(reinterpret_cast<const void*>(ahead + line));
    hn::Vec<decltype(df)> values, id_bits;
    hn::LoadInterleaved2(df, reinterpret_cast<const float*>(first), values, id_bits);
    if (!kForward) {
      values = hn::Reverse(df, values);
      id_bits = hn::Reverse(df, id_bits);
    }
    const auto inside = kForward ? hn::Le(hn::Sub(values, target_v), tau_v)
                                 : hn::Le(hn::Sub(target_v, values), tau_v);
    // Sorted values make `inside` a prefix; its length is where the run ends.
    const intptr_t first_out = hn::FindFirstTrue(df, hn::Not(inside));
    const size_t taken = first_out < 0 ? N : size_t(first_out);
    const auto ids = hn::BitCast(du, id_bits);
    const auto keep = hn::And(hn::FirstN(du, taken), hn::Not(hn::Gt(hn::Sub(ids, lo_v), span_v)));
    const size_t count = hn::CountTrue(du, keep);
    if (w + count >= max_out) break;  // the cap falls inside this vector: finish it scalar
    hn::StoreU(hn::Compress(ids, keep), du, out + w);
    w += count;
    i += taken;
    if (taken < N) return {i, w};
  }
  return CollectRunScalar<kForward>(base, i, n, target, tau, lo, span, max_out, out, w);
}

HWY_INLINE size_t FindStampedInAllT(const uint32_t* HWY_RESTRICT ids, size_t n, uint32_t lo,
                                    const uint8_t* const* maps, size_t n_maps, uint8_t stamp,
                                    uint32_t* HWY_RESTRICT hits) {
  const hn::ScalableTag<int32_t> di;
  const hn::RebindToUnsigned<decltype(di)> du;
  const size_t N = hn::Lanes(di);
  const auto lo_v = hn::Set(du, lo);
  const auto byte_v = hn::Set(di, 0xFF);
  const auto stamp_v = hn::Set(di, int32_t(stamp));
  const auto step_v = hn::Set(du, uint32_t(N));
  auto position_v = hn::Iota(du, 0);  // positions of the current vector (kept, not rebuilt)
  size_t i = 0, count = 0;
  for (; i + N <= n; i += N, position_v = hn::Add(position_v, step_v)) {
    // Byte offsets of the entries; each gather reads the 4 bytes at an entry, of which the
    // first (little-endian: the low byte) is the entry.
    const auto offsets = hn::BitCast(di, hn::Sub(hn::LoadU(du, ids + i), lo_v));
    auto all = hn::FirstN(di, N);
    for (size_t t = 0; t < n_maps; ++t) {
      const auto got = hn::GatherOffset(di, reinterpret_cast<const int32_t*>(maps[t]), offsets);
      all = hn::And(all, hn::Eq(hn::And(got, byte_v), stamp_v));
    }
    hn::StoreU(hn::Compress(position_v, hn::RebindMask(du, all)), du, hits + count);
    count += hn::CountTrue(di, all);
  }
  for (; i < n; ++i) {
    bool all = true;
    for (size_t t = 0; t < n_maps; ++t) all = all && maps[t][ids[i] - lo] == stamp;
    hits[count] = uint32_t(i);
    count += all;
  }
  return count;
}

// The 16 lanes of a row are 16 / N vectors (N <= 16, a power of two): one pass over the rows
// per vector of lanes, so no array of vectors is needed.
HWY_INLINE size_t LaneGroupMaxima16T(const float* HWY_RESTRICT scores,
                                     const uint32_t* HWY_RESTRICT ids, size_t n,
                                     const uint32_t* lim, size_t per, float* HWY_RESTRICT maxima) {
  constexpr size_t L = kSelectLanes;
  const hn::CappedTag<float, L> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const size_t N = hn::Lanes(df);
  const auto none = hn::Set(df, -std::numeric_limits<float>::infinity());
  size_t groups = 0;
  for (size_t v = 0; v < L; v += N) {
    const auto lim_v = hn::LoadU(du, lim + v);
    groups = 0;
    for (size_t i0 = 0; i0 < n; i0 += per, ++groups) {
      auto m = none;
      const size_t i1 = std::min(n, i0 + per);
      for (size_t i = i0; i < i1; ++i) {
        const auto admit = hn::RebindMask(df, hn::Lt(hn::Set(du, ids[i]), lim_v));
        const auto value = hn::IfThenElse(admit, hn::LoadU(df, scores + i * L + v), none);
        m = hn::IfThenElse(hn::Lt(m, value), value, m);
      }
      hn::StoreU(m, df, maxima + groups * L + v);
    }
  }
  return groups;
}

HWY_INLINE void LaneOffers16T(const float* HWY_RESTRICT scores, const uint32_t* HWY_RESTRICT ids,
                              size_t n, const uint32_t* lim, const float* cut,
                              uint16_t* HWY_RESTRICT masks, size_t* admitted) {
  constexpr size_t L = kSelectLanes;
  const hn::CappedTag<float, L> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const size_t N = hn::Lanes(df);
  const auto one = hn::Set(du, 1u);
  std::fill(masks, masks + n, uint16_t(0));
  for (size_t v = 0; v < L; v += N) {
    const auto lim_v = hn::LoadU(du, lim + v);
    const auto cut_v = hn::LoadU(df, cut + v);
    auto counts = hn::Zero(du);
    for (size_t i = 0; i < n; ++i) {
      const auto admit_u = hn::Lt(hn::Set(du, ids[i]), lim_v);
      counts = hn::Add(counts, hn::IfThenElseZero(admit_u, one));
      const auto offer =
          hn::AndNot(hn::Lt(hn::LoadU(df, scores + i * L + v), cut_v), hn::RebindMask(df, admit_u));
      uint8_t bits[8] = {};
      hn::StoreMaskBits(df, offer, bits);
      const uint32_t b = uint32_t(bits[0]) | uint32_t(bits[1]) << 8;
      masks[i] = uint16_t(masks[i] | (b & ((uint32_t(1) << N) - 1)) << v);
    }
    uint32_t c[L];
    hn::StoreU(counts, du, c);
    for (size_t g = 0; g < N; ++g) admitted[v + g] += c[g];
  }
}

// One pass over the blocks per vector of lanes (N <= 16 lanes of a block); each lane keeps its
// best distance and row (strict <, blocks in order: ties keep the earlier row), then the lanes
// are merged by (distance, row).
HWY_INLINE size_t NearestRow16T(const float* HWY_RESTRICT x, const float* HWY_RESTRICT blocks,
                                const float* HWY_RESTRICT sq, size_t dim, size_t n_blocks) {
  constexpr size_t L = kRowBlock;
  const hn::CappedTag<float, L> df;
  const hn::RebindToUnsigned<decltype(df)> du;
  const size_t N = hn::Lanes(df);
  float best_d = std::numeric_limits<float>::infinity();
  size_t best = 0;
  HWY_ALIGN float lane_d[L];
  HWY_ALIGN uint32_t lane_j[L];
  for (size_t v = 0; v < L; v += N) {
    auto bd = hn::Set(df, std::numeric_limits<float>::infinity());
    auto bj = hn::Zero(du);
    auto row = hn::Add(hn::Iota(du, 0), hn::Set(du, uint32_t(v)));
    const auto step = hn::Set(du, uint32_t(L));
    auto take = [&](size_t b, decltype(bd) acc) HWY_ATTR {
      const auto d = hn::Sub(hn::LoadU(df, sq + b * L + v), hn::Add(acc, acc));
      const auto better = hn::Lt(d, bd);
      bd = hn::IfThenElse(better, d, bd);
      bj = hn::IfThenElse(hn::RebindMask(du, better), row, bj);
      row = hn::Add(row, step);
    };
    size_t b = 0;
    // Four blocks at a time: four independent multiply-add chains (one chain is bound by the
    // FMA latency), each still in c order, so every distance is the same as one block at a time.
    for (; b + 4 <= n_blocks; b += 4) {
      const float* blk = blocks + b * dim * L + v;
      auto a0 = hn::Zero(df), a1 = hn::Zero(df), a2 = hn::Zero(df), a3 = hn::Zero(df);
      for (size_t c = 0; c < dim; ++c) {
        const auto xc = hn::Set(df, x[c]);
        a0 = hn::MulAdd(xc, hn::LoadU(df, blk + c * L), a0);
        a1 = hn::MulAdd(xc, hn::LoadU(df, blk + (dim + c) * L), a1);
        a2 = hn::MulAdd(xc, hn::LoadU(df, blk + (2 * dim + c) * L), a2);
        a3 = hn::MulAdd(xc, hn::LoadU(df, blk + (3 * dim + c) * L), a3);
      }
      take(b, a0);
      take(b + 1, a1);
      take(b + 2, a2);
      take(b + 3, a3);
    }
    for (; b < n_blocks; ++b) {
      const float* blk = blocks + b * dim * L + v;
      auto acc = hn::Zero(df);
      for (size_t c = 0; c < dim; ++c)
        acc = hn::MulAdd(hn::Set(df, x[c]), hn::LoadU(df, blk + c * L), acc);
      take(b, acc);
    }
    hn::StoreU(bd, df, lane_d);
    hn::StoreU(bj, du, lane_j);
    for (size_t g = 0; g < N; ++g)
      if (lane_d[g] < best_d || (lane_d[g] == best_d && lane_j[g] < best)) {
        best_d = lane_d[g];
        best = lane_j[g];
      }
  }
  return best;
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#endif  // FLOE_SEARCH_INL_H_
