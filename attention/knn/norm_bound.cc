#include "attention/knn/norm_bound.h"

#include <algorithm>
#include <cmath>

namespace floe {

int NormLevel(float sq) {
  const double v = std::max(double(sq), std::ldexp(1.0, -100));
  int level = int(std::ceil(2.0 * std::log2(v)));
  // Fix rounding of log2 so that the level is exactly the smallest with bound >= sq.
  while (double(LevelToBoundSq(level)) < v) ++level;
  while (double(LevelToBoundSq(level - 1)) >= v) --level;
  return level;
}

float LevelToBoundSq(int level) { return float(std::exp2(0.5 * double(level))); }

}  // namespace floe
