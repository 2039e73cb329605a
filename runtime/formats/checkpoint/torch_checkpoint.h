// Reads the tensors of a torch.save() file (PyTorch >= 1.6 zip format: a .pth or an HF
// pytorch_model.bin). The archive holds `<prefix>/data.pkl` (the pickled state dict) and one
// stored entry `<prefix>/data/<key>` per storage; tensors come out as zero-copy views into
// `data`, which must outlive the returned set.
//
// Accepted: a top-level dict / OrderedDict name -> tensor, or a dict whose "state_dict" member
// is such a dict (other members are then ignored). Tensors are
// torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, meta]),
// optionally wrapped in torch._utils._rebuild_parameter. Storage dtypes float32 / float16 /
// bfloat16; strides must be contiguous row-major (size-1 dimensions may have any stride).
// Several tensors may share a storage.
//
// Errors: kUnsupported for the legacy non-zip format, compressed entries, other dtypes,
// non-contiguous tensors, non-tensor values and non-allow-listed pickle globals (each naming
// the tensor / entry / global); kCorruptData for everything inconsistent (storage ranges
// checked against both the declared storage size and the zip entry, overflow-safe).
#pragma once

#include <cstddef>
#include <cstdint>

#include "platform/base/tensor_set.h"

namespace floe {

// The pickle may hold kTorchPickleMinValues + one value per 4 of its bytes (kCorruptData past
// that): far more than a state dict needs, and memory in proportion to the file.
inline constexpr size_t kTorchPickleMinValues = 4096;

Result<TensorSet> ReadTorchCheckpoint(const uint8_t* data, size_t size);

}  // namespace floe
