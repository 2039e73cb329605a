#include "attention/knn/ice_reference.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "platform/base/dtype.h"

namespace floe::ice::reference {

namespace {

float At(const void* row, DType dtype, size_t i) {
  return dtype == DType::kF16 ? F16ToF32(static_cast<const uint16_t*>(row)[i])
                              : static_cast<const float*>(row)[i];
}

double DotKey(const KvCache& c, size_t layer, size_t pos, size_t kv_head, const float* q) {
  double s = 0.0;
  for (size_t i = 0; i < c.head_dim(); ++i) s += double(q[i]) * KeyAt(c, layer, pos, kv_head, i);
  return s;
}

}  // namespace

float KeyAt(const KvCache& c, size_t layer, size_t pos, size_t kv_head, size_t i) {
  return At(c.Key(layer, pos, kv_head), c.dtype(), i);
}

float ValueAt(const KvCache& c, size_t layer, size_t pos, size_t kv_head, size_t i) {
  return At(c.Value(layer, pos, kv_head), c.dtype(), i);
}

void SparseAttend(const KvCache& c, size_t layer, size_t kv_head, const float* q,
                  std::span<const uint32_t> positions, float* out) {
  const size_t hd = c.head_dim();
  const double scale = 1.0 / std::sqrt(double(hd));
  std::vector<double> s(positions.size());
  double mx = -INFINITY;
  for (size_t i = 0; i < positions.size(); ++i) {
    s[i] = DotKey(c, layer, positions[i], kv_head, q) * scale;
    mx = std::max(mx, s[i]);
  }
  double sum = 0.0;
  for (double& x : s) sum += (x = std::exp(x - mx));
  std::vector<double> acc(hd, 0.0);
  for (size_t i = 0; i < positions.size(); ++i)
    for (size_t d = 0; d < hd; ++d) acc[d] += s[i] * ValueAt(c, layer, positions[i], kv_head, d);
  for (size_t d = 0; d < hd; ++d) out[d] = float(sum > 0.0 ? acc[d] / sum : 0.0);
}

void DenseAttend(const KvCache& c, size_t layer, size_t kv_head, const float* q, size_t n_keys,
                 float* out) {
  std::vector<uint32_t> all(n_keys);
  std::iota(all.begin(), all.end(), 0u);
  SparseAttend(c, layer, kv_head, q, all, out);
}

std::vector<uint32_t> TopKInnerProduct(const KvCache& c, size_t layer, size_t kv_head,
                                       const float* q, size_t begin, size_t end, size_t k) {
  std::vector<std::pair<double, uint32_t>> all;
  for (size_t p = begin; p < end; ++p)
    all.push_back({DotKey(c, layer, p, kv_head, q), uint32_t(p)});
  k = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + k, all.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  std::vector<uint32_t> ids(k);
  for (size_t i = 0; i < k; ++i) ids[i] = all[i].second;
  return ids;
}

}  // namespace floe::ice::reference
