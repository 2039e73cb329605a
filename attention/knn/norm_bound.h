// The grid of norm bounds shared by the kNN backends that turn maximum inner product search
// into nearest-neighbour search (Bachrach et al. 2014: k -> (k, sqrt(M^2 - |k|^2))): M^2 is
// kept on the grid 2^(level/2), the smallest grid value >= every |k|^2 indexed, so the bound
// (and the index) depends only on the set of keys, and a growing bound changes at most once
// per factor of 2^(1/2) in squared norm.
#pragma once

namespace floe {

// The smallest level with 2^(level/2) >= sq (sq >= 0; tiny values clamp to 2^-100).
int NormLevel(float sq);
// 2^(level/2): M^2 of a level.
float LevelToBoundSq(int level);

}  // namespace floe
