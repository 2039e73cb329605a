#include "runtime/formats/gguf/gguf_source.h"

namespace floe {

TensorSet GgufTensors(const GgufFile& file) {
  TensorSet set;
  set.tensors.reserve(file.tensors().size());
  for (const GgufTensorInfo& info : file.tensors()) {
    DType dtype;
    if (!DTypeOfGgmlType(info.type, &dtype)) {
      set.unusable.emplace_back(info.name, "has type " + std::string(GgmlTypeName(info.type)) +
                                               "; floe computes with " + kComputedGgmlTypes);
      continue;
    }
    NamedTensor t;
    t.name = info.name;
    t.dtype = dtype;
    for (size_t d = info.ne.size(); d-- > 0;) t.shape.push_back(info.ne[d]);
    t.data = info.data;
    t.bytes = size_t(info.nbytes);
    set.tensors.push_back(std::move(t));
  }
  set.Index();
  return set;
}

}  // namespace floe
