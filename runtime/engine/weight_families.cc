#include "runtime/engine/weight_families.h"

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace floe {

std::string WeightFamily(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view part = name.substr(start, end - start);
    bool digits = !part.empty();
    for (char c : part) digits = digits && c >= '0' && c <= '9';
    if (start > 0) out += '.';
    out += digits ? std::string_view("N") : part;
    start = end + 1;
  }
  return out;
}

std::string LargestWeightFamilyType(const TensorSet& set) {
  struct Family {
    std::string name;
    uint64_t bytes = 0;
    std::vector<std::pair<DType, uint64_t>> by_type;  // in order of first appearance
  };
  std::vector<Family> families;         // in order of first appearance
  std::map<std::string, size_t> index;  // family name -> position in `families`
  for (const NamedTensor& t : set.tensors) {
    std::string name = WeightFamily(t.name);
    auto [it, added] = index.emplace(name, families.size());
    if (added) families.push_back({std::move(name), 0, {}});
    Family* f = &families[it->second];
    f->bytes += t.bytes;
    bool found = false;
    for (auto& [type, bytes] : f->by_type)
      if (type == t.dtype) {
        bytes += t.bytes;
        found = true;
      }
    if (!found) f->by_type.emplace_back(t.dtype, t.bytes);
  }
  const Family* best = nullptr;
  for (const Family& f : families)
    if (best == nullptr || f.bytes > best->bytes) best = &f;
  if (best == nullptr || best->by_type.empty()) return "?";
  const std::pair<DType, uint64_t>* type = &best->by_type[0];
  for (const auto& t : best->by_type)
    if (t.second > type->second) type = &t;
  return DTypeName(type->first);
}

}  // namespace floe
