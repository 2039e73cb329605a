// SIMD kernels for index searches over sorted (value, id) records: the scans of a Prioritized
// DCI query (attention/knn/dci/prioritized_dci.h). They know nothing about attention: a kernel
// takes arrays and sizes. Dispatch as in ops.h (one Highway target chosen per call, search.cc);
// each kernel has a scalar twin in reference.h that tests/platform/search_kernels_test.cc checks it
// against, exactly (these kernels compare and copy; they compute nothing that could round
// differently), but NearestRow16, which computes distances: its choice is checked against
// double-precision distances within rounding.
#pragma once

#include <cstddef>
#include <cstdint>

namespace floe {

// One record of a sorted list: 8 bytes, value first.
struct ValueId {
  float value;
  uint32_t id;
};

// Extra ids (beyond max_out) that CollectRunForward / CollectRunBackward may overwrite in
// `out`: they store whole vectors. Enough for any Highway target.
inline constexpr size_t kCollectSlack = 64;
// Bytes a stamp map must stay readable past its last entry (FindStampedInAll reads 4 bytes at
// each entry).
inline constexpr size_t kStampMapPad = 4;

struct RunCollected {
  size_t consumed = 0;  // records taken
  size_t written = 0;   // ids written to out
};

// The forward scan of a window over a sorted list. Takes records r[0], r[1], ... while
// r[i].value - target <= tau (in float arithmetic; records sorted by value, so the taken ones are
// a prefix of r[0, n)); writes the ids of the taken records with (id - lo) <= span (unsigned
// arithmetic: id in [lo, lo + span]) to out in order, and stops right after the max_out-th id
// written. Returns the records taken and the ids written. out has room for max_out +
// kCollectSlack ids; what lies past out[written] afterwards is unspecified.
RunCollected CollectRunForward(const ValueId* r, size_t n, float target, float tau, uint32_t lo,
                               uint32_t span, size_t max_out, uint32_t* out);
// The backward scan: `end` points one past the run's first record; takes end[-1], end[-2], ...,
// end[-n] while target - value <= tau, otherwise as CollectRunForward.
RunCollected CollectRunBackward(const ValueId* end, size_t n, float target, float tau, uint32_t lo,
                                uint32_t span, size_t max_out, uint32_t* out);

// Writes to hits, in increasing order, every position i in [0, n) with
// maps[t][ids[i] - lo] == stamp for all t in [0, n_maps) (all positions when n_maps == 0);
// returns how many. Every ids[i] - lo indexes inside each map, and each map stays readable
// kStampMapPad bytes past that entry. hits has room for n + kCollectSlack positions.
size_t FindStampedInAll(const uint32_t* ids, size_t n, uint32_t lo, const uint8_t* const* maps,
                        size_t n_maps, uint8_t stamp, uint32_t* hits);

// Lane-wise selection over rows of 16 lanes: the top-k cut that 16 queries make over shared
// candidates (attention/ice: TopKOfScores16). Row i holds scores[16 i + g] for lanes g = 0..15
// and carries ids[i]; lane g admits row i when ids[i] < lim[g] (unsigned).
inline constexpr size_t kSelectLanes = 16;

// For each group j of `per` consecutive rows, [j per, min(n, (j + 1) per)):
// maxima[16 j + g] = the largest score lane g admits in it, -inf when none; a NaN never raises
// a maximum (it is kept only as m < v, false for NaN). Returns the group count ceil(n / per);
// per >= 1; maxima has room for 16 per group.
size_t LaneGroupMaxima16(const float* scores, const uint32_t* ids, size_t n, const uint32_t* lim,
                         size_t per, float* maxima);

// masks[i] bit g = (ids[i] < lim[g] && !(scores[16 i + g] < cut[g])) for rows i < n (a NaN score
// is offered: it is not below the cut); admitted[g] += the number of rows lane g admits.
void LaneOffers16(const float* scores, const uint32_t* ids, size_t n, const uint32_t* lim,
                  const float* cut, uint16_t* masks, size_t* admitted);

// Rows stored in blocks of 16 (the nodes of a multi-level DCI level, attention/ice/
// multilevel_dci.h): element c of row 16 b + g is blocks[(b * dim + c) * 16 + g], so one block
// is dim vectors of 16 lanes and a scan needs no horizontal sums.
inline constexpr size_t kRowBlock = 16;
// argmin over j < ceil(n / 16) * 16 of d_j = sq[j] - 2 (x . row_j) (= |row_j - x|^2 - |x|^2 when
// sq[j] = |row_j|^2); each dot product is one multiply-add chain over c = 0, 1, ..., dim - 1 in
// order (fused where the target has FMA), and d_j = sq[j] - (dot + dot). Equal distances: the
// smallest j. A NaN distance never wins; 0 when no distance is below +infinity. Padding rows
// (past n in the last block) take part: give them sq = +infinity and finite elements.
size_t NearestRow16(const float* x, const float* blocks, const float* sq, size_t dim,
                    size_t n_blocks);
}  // namespace floe
