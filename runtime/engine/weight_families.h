// Weight families: a model's tensors grouped by name with the layer index taken out
// ("blk.3.ffn_up.weight" and "blk.7.ffn_up.weight" are the family "blk.N.ffn_up.weight"), so a
// model can be described by the type of the family that holds most of its bytes (what
// `floe bench` reports as the model's weight type, as llama-bench reports a file type), whatever
// the architecture calls its tensors.
#pragma once

#include <string>
#include <string_view>

#include "platform/base/tensor_set.h"

namespace floe {

// The tensor name with every dot-separated part made only of digits replaced by "N".
std::string WeightFamily(std::string_view tensor_name);

// The type name (DTypeName) of the family with the most bytes; within that family, the type
// holding most of its bytes. Ties go to the family (type) met first in file order. "?" when
// the set has no tensors.
std::string LargestWeightFamilyType(const TensorSet& set);

}  // namespace floe
