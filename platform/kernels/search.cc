// Highway dynamic dispatch for the kernels of search.h (compiled once per target through
// hwy/foreach_target.h, as ops.cc).

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "platform/kernels/search.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "platform/kernels/search-inl.h"

HWY_BEFORE_NAMESPACE();
namespace floe {
namespace HWY_NAMESPACE {

RunCollected CollectRunForwardImpl(const ValueId* r, size_t n, float target, float tau, uint32_t lo,
                                   uint32_t span, size_t max_out, uint32_t* out) {
  return CollectRunT<true>(r, n, target, tau, lo, span, max_out, out);
}
RunCollected CollectRunBackwardImpl(const ValueId* end, size_t n, float target, float tau,
                                    uint32_t lo, uint32_t span, size_t max_out, uint32_t* out) {
  return CollectRunT<false>(end, n, target, tau, lo, span, max_out, out);
}
size_t FindStampedInAllImpl(const uint32_t* ids, size_t n, uint32_t lo, const uint8_t* const* maps,
                            size_t n_maps, uint8_t stamp, uint32_t* hits) {
  return FindStampedInAllT(ids, n, lo, maps, n_maps, stamp, hits);
}
size_t LaneGroupMaxima16Impl(const float* scores, const uint32_t* ids, size_t n,
                             const uint32_t* lim, size_t per, float* maxima) {
  return LaneGroupMaxima16T(scores, ids, n, lim, per, maxima);
}
void LaneOffers16Impl(const float* scores, const uint32_t* ids, size_t n, const uint32_t* lim,
                      const float* cut, uint16_t* masks, size_t* admitted) {
  LaneOffers16T(scores, ids, n, lim, cut, masks, admitted);
}
size_t NearestRow16Impl(const float* x, const float* blocks, const float* sq, size_t dim,
                        size_t n_blocks) {
  return NearestRow16T(x, blocks, sq, dim, n_blocks);
}

}  // namespace HWY_NAMESPACE
}  // namespace floe
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <bit>
#include <cstddef>

#include "platform/kernels/search.h"

namespace floe {

// FindStampedInAll's gathers read an entry as the low byte of a 32-bit load.
static_assert(std::endian::native == std::endian::little, "search kernels assume little-endian");
static_assert(sizeof(ValueId) == 8 && offsetof(ValueId, id) == 4,
              "ValueId: float then uint32, packed");

HWY_EXPORT(CollectRunForwardImpl);
HWY_EXPORT(CollectRunBackwardImpl);
HWY_EXPORT(FindStampedInAllImpl);
HWY_EXPORT(LaneGroupMaxima16Impl);
HWY_EXPORT(LaneOffers16Impl);
HWY_EXPORT(NearestRow16Impl);

RunCollected CollectRunForward(const ValueId* r, size_t n, float target, float tau, uint32_t lo,
                               uint32_t span, size_t max_out, uint32_t* out) {
  return HWY_DYNAMIC_DISPATCH(CollectRunForwardImpl)(r, n, target, tau, lo, span, max_out, out);
}

RunCollected CollectRunBackward(const ValueId* end, size_t n, float target, float tau, uint32_t lo,
                                uint32_t span, size_t max_out, uint32_t* out) {
  return HWY_DYNAMIC_DISPATCH(CollectRunBackwardImpl)(end, n, target, tau, lo, span, max_out, out);
}

size_t FindStampedInAll(const uint32_t* ids, size_t n, uint32_t lo, const uint8_t* const* maps,
                        size_t n_maps, uint8_t stamp, uint32_t* hits) {
  return HWY_DYNAMIC_DISPATCH(FindStampedInAllImpl)(ids, n, lo, maps, n_maps, stamp, hits);
}

size_t LaneGroupMaxima16(const float* scores, const uint32_t* ids, size_t n, const uint32_t* lim,
                         size_t per, float* maxima) {
  return HWY_DYNAMIC_DISPATCH(LaneGroupMaxima16Impl)(scores, ids, n, lim, per, maxima);
}

void LaneOffers16(const float* scores, const uint32_t* ids, size_t n, const uint32_t* lim,
                  const float* cut, uint16_t* masks, size_t* admitted) {
  HWY_DYNAMIC_DISPATCH(LaneOffers16Impl)(scores, ids, n, lim, cut, masks, admitted);
}

size_t NearestRow16(const float* x, const float* blocks, const float* sq, size_t dim,
                    size_t n_blocks) {
  return HWY_DYNAMIC_DISPATCH(NearestRow16Impl)(x, blocks, sq, dim, n_blocks);
}

}  // namespace floe
#endif  // HWY_ONCE
